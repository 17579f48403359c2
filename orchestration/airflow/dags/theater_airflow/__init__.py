"""Shared pieces of the theater-index DAGs (operators, sensor, callbacks, settings).

Lives in the DAG folder (Airflow puts that folder on ``sys.path``) and is listed in
``.airflowignore`` so that the DAG processor does not parse it as a DAG file.
"""
