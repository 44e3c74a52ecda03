"""The republished spec: error responses added per operation, servers from the request."""

from __future__ import annotations

from server.publish import base_url, error_schema, error_statuses


def test_error_statuses_follow_what_the_operation_takes() -> None:
    assert error_statuses({}, {}, unbound=False) == [404, 405, 500]
    assert error_statuses({"parameters": [{}]}, {}, unbound=False) == [400, 404, 405, 500]
    assert error_statuses({}, {"parameters": [{}]}, unbound=True) == [400, 404, 405, 500, 501]
    assert error_statuses({"requestBody": {}}, {}, unbound=False) == [
        400, 404, 405, 413, 415, 422, 500]


def test_derived_operations_can_also_meet_the_database() -> None:
    derived = {"x-charter-derived": {"entity": "Todo", "action": "findById"}}
    assert error_statuses(derived, {}, unbound=False) == [404, 405, 500, 503]
    assert error_statuses(derived, {}, unbound=False, method="post") == [
        404, 405, 409, 500, 503]
    guarded = {**derived, "parameters": [{"name": "if-match", "in": "header"}]}
    assert error_statuses(guarded, {}, unbound=False, method="put") == [
        400, 404, 405, 409, 412, 500, 503]
    # The same operation written by hand: only what the server itself answers.
    assert error_statuses({"parameters": [{"name": "If-Match", "in": "header"}]}, {},
                          unbound=False, method="put") == [400, 404, 405, 500]


def test_base_url_from_host_and_proxy_headers() -> None:
    scope = {"scheme": "http", "root_path": "/mounted", "server": ("10.0.0.1", 8000)}
    assert base_url(scope, {"host": "example.org:8080"}) == "http://example.org:8080/mounted"
    assert base_url(scope, {}) == "http://10.0.0.1:8000/mounted"
    assert base_url(scope, {"host": "a", "x-forwarded-proto": "https, http",
                            "x-forwarded-host": "b.example, a", "x-forwarded-prefix": "/api/"}
                    ) == "https://b.example/api/mounted"


def test_error_schemas_describe_both_formats() -> None:
    assert error_schema("loopback")["required"] == ["error"]
    assert error_schema("problem")["required"] == ["type", "title", "status"]
