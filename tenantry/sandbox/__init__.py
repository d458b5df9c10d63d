"""Sandbox values for test projects (``project-test-*``), as on Stytch's test environment.

* ``values``: Stytch's documented B2B sandbox constants and what each one does.
* ``fixtures``: the organization, member and session those values answer with.
* ``pins``: codes and tokens an operator fixed for chosen addresses of a test project.

None of it applies to live projects: every entry point checks ``project.is_test`` first.
"""
