"""The REST API's shared pieces: API keys, authentication, permissions, throttling, errors.

Resource viewsets live with their app (``incidents/api/``, ``accounts/api/views.py``) and are
registered on the one router in ``alert24/api_urls.py``.
"""
