"""The Orchestrator: the NiceGUI admin app (`openorch o`).

`main.run(args)` starts the server; `frame.OrchestratorPage` builds one browser tab's
page; every tab lives in `tabs/` and every dialog in `popups/`. The UI never holds SQL:
it calls the data layer (`openorch.store.Store`) through the per-client `ClientStore`.
"""
