"""The case runner: infrastructure that executes the flows, not flows. It drains the outbox and executes each
case's Prefect run in-process (`runner`), with the engine cuts that make that cheap (`engine`), and registers the
deployments, declared once (`deployments`; deploy/prefect.yaml is checked against them)."""
