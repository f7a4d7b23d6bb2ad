"""Review: the clerk's page for settling flagged rows and rejected pages (``ballot review``).

``model`` holds the typed records the store returns; ``app.create_app`` builds the Flask application; the
package imports nothing heavy itself, so the store can import ``pipeline.review.model`` cheaply.
"""
