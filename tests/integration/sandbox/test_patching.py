"""Patch semantics the API tests do not reach: merge keys per list, directives, RFC 6902 details."""

from __future__ import annotations

import pytest

from sandbox import patching
from sandbox.errors import Invalid

POD = {
    "metadata": {"finalizers": ["a"], "labels": {"app": "x"}},
    "spec": {
        "containers": [
            {
                "name": "app",
                "image": "x:1",
                "ports": [{"containerPort": 80, "name": "http"}],
                "volumeMounts": [{"name": "data", "mountPath": "/data"}],
            },
            {"name": "sidecar", "image": "s:1"},
        ],
        "volumes": [{"name": "data", "emptyDir": {}}],
        "tolerations": [{"key": "a"}],
    },
}


def test_container_ports_merge_by_container_port_and_mounts_by_mount_path() -> None:
    patch = {
        "spec": {
            "containers": [
                {
                    "name": "app",
                    "ports": [{"containerPort": 80, "name": "web"}, {"containerPort": 9090}],
                    "volumeMounts": [{"mountPath": "/data", "readOnly": True}],
                }
            ]
        }
    }
    result = patching.strategic_merge_patch(POD, patch)
    app = result["spec"]["containers"][0]
    assert app["ports"] == [{"containerPort": 80, "name": "web"}, {"containerPort": 9090}]
    assert app["volumeMounts"] == [{"name": "data", "mountPath": "/data", "readOnly": True}]
    assert result["spec"]["containers"][1]["name"] == "sidecar"
    assert POD["spec"]["containers"][0]["ports"][0]["name"] == "http", "the input is not modified"


def test_service_ports_merge_by_port() -> None:
    service = {"spec": {"ports": [{"port": 80, "targetPort": 8080}, {"port": 443}]}}
    result = patching.strategic_merge_patch(service, {"spec": {"ports": [{"port": 80, "targetPort": 9090}]}})
    assert result["spec"]["ports"] == [{"port": 80, "targetPort": 9090}, {"port": 443}]


def test_lists_without_merge_key_are_replaced_and_finalizers_merge() -> None:
    result = patching.strategic_merge_patch(
        POD, {"metadata": {"finalizers": ["b"]}, "spec": {"tolerations": []}}
    )
    assert result["metadata"]["finalizers"] == ["a", "b"]
    assert result["spec"]["tolerations"] == []


def test_directives() -> None:
    patch = {
        "metadata": {
            "$deleteFromPrimitiveList/finalizers": ["a"],
            "labels": {"$patch": "replace", "new": "1"},
        },
        "spec": {
            "$setElementOrder/containers": [{"name": "sidecar"}, {"name": "app"}],
            "volumes": [{"name": "data", "$patch": "delete"}],
        },
    }
    result = patching.strategic_merge_patch(POD, patch)
    assert result["metadata"]["finalizers"] == []
    assert result["metadata"]["labels"] == {"new": "1"}
    assert [c["name"] for c in result["spec"]["containers"]] == ["sidecar", "app"]
    assert result["spec"]["volumes"] == []
    retained = patching.strategic_merge_patch(
        {"spec": {"a": 1, "b": 2}}, {"spec": {"$retainKeys": ["a"], "a": 3}}
    )
    assert retained == {"spec": {"a": 3}}


def test_merge_patch_rfc7386() -> None:
    assert patching.merge_patch({"a": {"b": 1, "c": 2}, "l": [1]}, {"a": {"b": None}, "l": [2]}) == {
        "a": {"c": 2},
        "l": [2],
    }


def test_json_patch_operations_and_failures() -> None:
    doc = {"a": [1, 2], "b": {"c": 1}}
    ops = [
        {"op": "add", "path": "/a/-", "value": 3},
        {"op": "move", "from": "/b/c", "path": "/d"},
        {"op": "copy", "from": "/d", "path": "/e"},
        {"op": "remove", "path": "/a/0"},
    ]
    assert patching.json_patch(doc, ops) == {"a": [2, 3], "b": {}, "d": 1, "e": 1}
    assert doc == {"a": [1, 2], "b": {"c": 1}}
    for bad in (
        [{"op": "remove", "path": "/zz"}],
        [{"op": "replace", "path": "/x", "value": 1}],
        [{"op": "test", "path": "/a/0", "value": 9}],
        {"op": "add"},
    ):
        with pytest.raises(Invalid):
            patching.json_patch(doc, bad)
