"""Billing imports, by job:

- `billing`: `import_billing`, the all-or-nothing import of invoice and daily usage files;
- `references`: the organizations, offers and subscriptions lines point to, on first sight;
- `line_writer`: billing lines into the database (a COPY on PostgreSQL);
- `months`: a report's month figures recomputed from its stored lines;
- `codec`: lines and month figures as JSON, and back;
- `outcome`: what an import did;
- `runs`, `views`, `forms`, `urls`: imports started from the browser and run by a worker.

The file formats themselves are read by `apps.catalog.importers`.
"""
