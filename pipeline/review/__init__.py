"""Review: the clerk's page for settling flagged rows and rejected pages (``ballot review``).

``app.create_app`` builds the Flask application over the store (its typed records are
:mod:`pipeline.store.records`); ``server`` serves it; ``views`` cuts row crops and shapes the JSON;
``terminal`` is the ``--cli`` fallback; ``i18n`` holds the page's words.
"""
