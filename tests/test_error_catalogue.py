"""The error catalogue: each Stytch error_type has one HTTP status, wherever it is raised."""

from __future__ import annotations

import inspect

import tenantry.errors as errors


def test_each_error_type_has_one_status_and_is_defined_once() -> None:
    defined: dict[str, list[tuple[str, int]]] = {}
    for name, cls in inspect.getmembers(errors, inspect.isclass):
        if issubclass(cls, errors.TenantryError) and "error_type" in cls.__dict__:
            defined.setdefault(cls.error_type, []).append((name, cls.status_code))
    assert len(defined) > 40
    for error_type, classes in defined.items():
        assert len(classes) == 1, f"{error_type} is defined by several classes: {classes}"
        assert 400 <= classes[0][1] <= 599


def test_error_url_points_at_stytch_reference() -> None:
    error = errors.IntermediateSessionNotFound()
    assert error.status_code == 404
    assert error.error_url == "https://stytch.com/docs/api/errors/404#intermediate_session_not_found"
