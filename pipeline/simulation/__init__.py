"""simulation: voters' marks and capture devices with ground truth (for the demo, tests and benchmarks).

``simulate.simulate_batch`` fills printed ballots (``marks``, ``corrections``, drawn with ``pen``) and captures
them (``degrade`` with ``effects``; conditions in ``conditions``, ``paper``, ``capture``; where each page point
lands in ``geometry``), writing files with ``writer`` and ``truth.jsonl``.
"""
