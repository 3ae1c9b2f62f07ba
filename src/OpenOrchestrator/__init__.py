"""OpenOrchestrator compatibility package: the original's import paths, served by openorch.

Scripts and tools written for OpenOrchestrator import from here unchanged. Every module
only re-exports names from `openorch`; none holds logic of its own. Importing this
package loads nothing heavy (see the submodules for what each one brings in).
"""
