"""The ``workspace`` tool set: a team's requirements and their tasks, per tenant.

The package is also a Django app (``tools.workspace``); its tool set registers when the app
is ready (``apps.WorkspaceConfig``), since the tool module needs the models loaded.
"""
