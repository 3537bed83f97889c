"""initial schema

Revision ID: 0001
Revises: 
"""

from alembic import op
import sqlalchemy as sa

import bot.timeutil


revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    
    op.create_table('handoff_requests',
    sa.Column('pk', sa.Integer(), nullable=False),
    sa.Column('conversation_id', sa.String(length=255), nullable=False),
    sa.Column('status', sa.String(length=32), nullable=False),
    sa.Column('reason', sa.String(length=64), nullable=False),
    sa.Column('language', sa.String(length=8), nullable=False),
    sa.Column('channel', sa.String(length=64), nullable=True),
    sa.Column('last_question', sa.Text(), nullable=True),
    sa.Column('context', sa.JSON(), nullable=False),
    sa.Column('created_at', bot.timeutil.UTCDateTime(), nullable=False),
    sa.Column('closed_at', bot.timeutil.UTCDateTime(), nullable=True),
    sa.PrimaryKeyConstraint('pk', name=op.f('pk_handoff_requests'))
    )
    with op.batch_alter_table('handoff_requests', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_handoff_requests_conversation_id'), ['conversation_id'], unique=False)
        batch_op.create_index('uq_handoff_requests_open_conversation', ['conversation_id'], unique=True, sqlite_where=sa.text("status = 'requested'"), postgresql_where=sa.text("status = 'requested'"))

    op.create_table('kb_article_ratings',
    sa.Column('pk', sa.Integer(), nullable=False),
    sa.Column('conversation_id', sa.String(length=255), nullable=False),
    sa.Column('article_id', sa.String(length=100), nullable=False),
    sa.Column('language', sa.String(length=8), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('helpful', sa.Boolean(), nullable=False),
    sa.Column('created_at', bot.timeutil.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('pk', name=op.f('pk_kb_article_ratings'))
    )
    with op.batch_alter_table('kb_article_ratings', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_kb_article_ratings_article_id'), ['article_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_kb_article_ratings_conversation_id'), ['conversation_id'], unique=False)

    op.create_table('kb_articles',
    sa.Column('pk', sa.Integer(), nullable=False),
    sa.Column('article_id', sa.String(length=100), nullable=False),
    sa.Column('language', sa.String(length=8), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('tags', sa.JSON(), nullable=False),
    sa.Column('audience', sa.String(length=16), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_at', bot.timeutil.UTCDateTime(), nullable=False),
    sa.Column('updated_at', bot.timeutil.UTCDateTime(), nullable=False),
    sa.Column('updated_by', sa.String(length=100), nullable=False),
    sa.CheckConstraint("audience IN ('public', 'internal')", name=op.f('ck_kb_articles_audience')),
    sa.CheckConstraint("status IN ('draft', 'published')", name=op.f('ck_kb_articles_status')),
    sa.PrimaryKeyConstraint('pk', name=op.f('pk_kb_articles')),
    sa.UniqueConstraint('article_id', 'language', name='uq_kb_articles_article_id_language')
    )
    with op.batch_alter_table('kb_articles', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_kb_articles_article_id'), ['article_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_kb_articles_updated_at'), ['updated_at'], unique=False)

    op.create_table('orders',
    sa.Column('number', sa.String(length=20), nullable=False),
    sa.Column('email', sa.String(length=255), nullable=False),
    sa.Column('customer_name', sa.String(length=200), nullable=False),
    sa.Column('country', sa.String(length=2), nullable=False),
    sa.Column('status', sa.String(length=32), nullable=False),
    sa.Column('carrier', sa.String(length=64), nullable=True),
    sa.Column('tracking_number', sa.String(length=64), nullable=True),
    sa.Column('delivery_method', sa.String(length=64), nullable=True),
    sa.Column('expected_delivery', sa.Date(), nullable=True),
    sa.Column('total_cents', sa.Integer(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('items', sa.JSON(), nullable=False),
    sa.Column('placed_at', bot.timeutil.UTCDateTime(), nullable=False),
    sa.Column('updated_at', bot.timeutil.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('number', name=op.f('pk_orders'))
    )
    op.create_table('kb_article_questions',
    sa.Column('pk', sa.Integer(), nullable=False),
    sa.Column('article_pk', sa.Integer(), nullable=False),
    sa.Column('text', sa.String(length=500), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['article_pk'], ['kb_articles.pk'], name=op.f('fk_kb_article_questions_article_pk_kb_articles'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('pk', name=op.f('pk_kb_article_questions'))
    )
    op.create_table('kb_article_versions',
    sa.Column('pk', sa.Integer(), nullable=False),
    sa.Column('article_pk', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('questions', sa.JSON(), nullable=False),
    sa.Column('tags', sa.JSON(), nullable=False),
    sa.Column('audience', sa.String(length=16), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('author', sa.String(length=100), nullable=False),
    sa.Column('changes', sa.JSON(), nullable=False),
    sa.Column('note', sa.String(length=500), nullable=True),
    sa.Column('created_at', bot.timeutil.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['article_pk'], ['kb_articles.pk'], name=op.f('fk_kb_article_versions_article_pk_kb_articles'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('pk', name=op.f('pk_kb_article_versions')),
    sa.UniqueConstraint('article_pk', 'version', name='uq_kb_article_versions_article_version')
    )
    


def downgrade() -> None:
    
    op.drop_table('kb_article_versions')
    op.drop_table('kb_article_questions')
    op.drop_table('orders')
    with op.batch_alter_table('kb_articles', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_kb_articles_updated_at'))
        batch_op.drop_index(batch_op.f('ix_kb_articles_article_id'))

    op.drop_table('kb_articles')
    with op.batch_alter_table('kb_article_ratings', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_kb_article_ratings_conversation_id'))
        batch_op.drop_index(batch_op.f('ix_kb_article_ratings_article_id'))

    op.drop_table('kb_article_ratings')
    with op.batch_alter_table('handoff_requests', schema=None) as batch_op:
        batch_op.drop_index('uq_handoff_requests_open_conversation', sqlite_where=sa.text("status = 'requested'"), postgresql_where=sa.text("status = 'requested'"))
        batch_op.drop_index(batch_op.f('ix_handoff_requests_conversation_id'))

    op.drop_table('handoff_requests')
    
