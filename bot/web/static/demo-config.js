// The demo store's widget configuration (README "The chat widget"): the chat language from
// ?lang=..., the rest as shipped. A real site writes this object inline before the script tag.
"use strict";
(function () {
  const language = new URLSearchParams(location.search).get("lang");
  window.AmberlineChat = {
    language: language || document.documentElement.lang || "en",
    position: "right",
  };
  document.addEventListener("DOMContentLoaded", () => {
    const button = document.getElementById("open-chat");
    if (button) button.addEventListener("click", () => window.AmberlineChat.open && window.AmberlineChat.open());
  });
})();
