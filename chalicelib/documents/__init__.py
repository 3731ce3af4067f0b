"""Client ID Metadata Documents: fetching them safely (fetch.py) and turning them into
clients (client_documents.py)."""
