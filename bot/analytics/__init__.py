"""Analytics for editors: the product's metrics over a period (PRODUCT.md, "Metrics").

- ``window``: the period, its time zone and its day or week buckets;
- ``conversations``: conversations read from Rasa's SQL tracker store;
- ``records``: handoffs, ratings, surveys and reports read from our tables;
- ``report``: the metrics, as docs/analytics.md defines them;
- ``topics``: the top unanswered topics (a small grouping, meant to be replaceable);
- ``export``: tables as CSV that is safe to open in a spreadsheet.
"""
