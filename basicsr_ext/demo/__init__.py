"""The web demo (``python scripts/demo.py``, docs/demo.md): UI glue over the inference code, nothing more.

``examples`` makes the bundled inputs (simulated AOS samples, scikit-image's photos), ``handlers`` runs the project's
restorers on them with numpy in and out (no gradio), ``app`` is the Gradio page. Importing this package imports
neither gradio nor torch; only :func:`basicsr_ext.demo.app.build_app` needs the ``demo`` extra.
"""
