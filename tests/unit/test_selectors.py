"""Label and field selectors: parsing, matching, and kube's exact 400 messages."""

from __future__ import annotations

import pytest

from kubenest.api.selectors import (
    FieldSelector,
    LabelSelector,
    SelectorError,
    convert_field_selector,
    custom_resource_field_attributes,
    field_attributes,
    from_label_selector_object,
    supported_fields,
    unsupported_field_message,
)

LABEL_KEY_REGEX_MSG = (
    "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an "
    "alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is "
    "'([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')"
)
LABEL_VALUE_REGEX_MSG = (
    "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must "
    "start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used "
    "for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')"
)


def parse_error(text: str) -> str:
    with pytest.raises(SelectorError) as info:
        LabelSelector.parse(text)
    return str(info.value)


def field_error(text: str) -> str:
    with pytest.raises(SelectorError) as info:
        FieldSelector.parse(text)
    return str(info.value)


# --- label selector grammar and matching


def test_label_selector_full_grammar_matches_like_kube() -> None:
    sel = LabelSelector.parse("a=b,c!=d,e in (x,y),f notin (z),g,!h")
    good = {"a": "b", "c": "x", "e": "y", "f": "q", "g": ""}
    assert sel.matches(good)
    assert not sel.matches({**good, "a": "other"})
    assert not sel.matches({**good, "c": "d"})
    assert not sel.matches({**good, "e": "w"})
    assert not sel.matches({**good, "f": "z"})
    assert not sel.matches({k: v for k, v in good.items() if k != "g"})
    assert not sel.matches({**good, "h": "anything"})


def test_label_selector_not_equal_and_notin_match_missing_keys() -> None:
    assert LabelSelector.parse("a!=b").matches({})
    assert LabelSelector.parse("a notin (b)").matches(None)
    assert not LabelSelector.parse("a in (b)").matches({})


def test_label_selector_double_equals_is_equality() -> None:
    sel = LabelSelector.parse("tier==web")
    assert sel.matches({"tier": "web"})
    assert not sel.matches({"tier": "db"})
    assert str(sel) == "tier==web"


def test_label_selector_greater_and_less_than_compare_integers() -> None:
    sel = LabelSelector.parse("gen>3,size<10")
    assert sel.matches({"gen": "4", "size": "9"})
    assert not sel.matches({"gen": "3", "size": "9"})
    assert not sel.matches({"gen": "x", "size": "1"})
    assert not sel.matches({"size": "1"})


def test_label_selector_is_sorted_and_prints_like_kube() -> None:
    sel = LabelSelector.parse("z=1, a in (c,b) ,!m,k")
    assert str(sel) == "a in (b,c),k,!m,z=1"


def test_label_selector_empty_items_in_value_set_are_the_empty_string() -> None:
    sel = LabelSelector.parse("x in (foo,,baz),y,z notin ()")
    assert str(sel) == "x in (,baz,foo),y,z notin ()"
    assert sel.matches({"x": "", "y": "1"})
    assert not sel.matches({"x": "", "y": "1", "z": ""})


def test_label_selector_in_and_notin_are_plain_values_in_value_position() -> None:
    sel = LabelSelector.parse("in in (in),notin=notin")
    assert sel.matches({"in": "in", "notin": "notin"})


def test_label_selector_value_may_be_empty_after_equals() -> None:
    sel = LabelSelector.parse("a=,b")
    assert sel.matches({"a": "", "b": "x"})
    assert not sel.matches({"a": "x", "b": "x"})


def test_empty_label_selector_selects_everything() -> None:
    for text in ("", "   "):
        sel = LabelSelector.parse(text)
        assert sel.empty()
        assert sel.matches({"anything": "goes"})
        assert sel.matches(None)


def test_label_selector_requires_exact_match() -> None:
    sel = LabelSelector.parse("app=web,tier in (a),env in (x,y)")
    assert sel.requires_exact_match("app") == "web"
    assert sel.requires_exact_match("tier") == "a"
    assert sel.requires_exact_match("env") is None
    assert sel.requires_exact_match("missing") is None


# --- label selector errors, word for word


def test_label_selector_in_without_values_error() -> None:
    assert parse_error("a in") == "unable to parse requirement: found '' expected: '('"
    assert parse_error("a in (") == "unable to parse requirement: found '', expected: ',', ')' or identifier"
    assert parse_error("a in (b c)") == "unable to parse requirement: found 'c', expected: ',' or ')'"


def test_label_selector_missing_operator_error() -> None:
    assert (
        parse_error("a b") == "unable to parse requirement: found 'b', expected: in, notin, =, ==, !=, gt, lt"
    )


def test_label_selector_separator_errors() -> None:
    assert parse_error("a=b c") == "found 'c', expected: ',' or 'end of string'"
    assert parse_error("a,") == "found '', expected: identifier after ','"
    assert parse_error(",a") == "found ',', expected: !, identifier, or 'end of string'"
    assert parse_error("!a=b") == "found '=', expected: ',' or 'end of string'"


def test_label_selector_bad_key_error_has_nil_field_path() -> None:
    assert (
        parse_error("-a=b")
        == f'unable to parse requirement: <nil>: Invalid value: "-a": {LABEL_KEY_REGEX_MSG}'
    )


def test_label_selector_bad_prefix_error() -> None:
    message = parse_error("Bad_Prefix/x=1")
    assert message.startswith(
        'unable to parse requirement: <nil>: Invalid value: "Bad_Prefix/x": prefix part '
    )
    assert "a lowercase RFC 1123 subdomain must consist of" in message


def test_label_selector_long_key_error() -> None:
    key = "k" * 64
    assert parse_error(key) == (
        f'unable to parse requirement: <nil>: Invalid value: "{key}": name part must be no more than 63 bytes'
    )


def test_label_selector_bad_value_error_names_index_and_key() -> None:
    assert parse_error("app=a$b") == (
        f'unable to parse requirement: values[0][app]: Invalid value: "a$b": {LABEL_VALUE_REGEX_MSG}'
    )


def test_label_selector_several_bad_values_are_aggregated_in_sorted_order() -> None:
    message = parse_error("app in (z$,a$)")
    assert message.startswith('unable to parse requirement: [values[0][app]: Invalid value: "a$": ')
    assert ', values[1][app]: Invalid value: "z$": ' in message
    assert message.endswith("]")


def test_label_selector_non_integer_gt_error() -> None:
    assert parse_error("x>a") == (
        "unable to parse requirement: values[0]: Invalid value: \"a\": for 'Gt', 'Lt' operators, "
        "the value must be an integer"
    )


# --- metav1.LabelSelector objects


def test_label_selector_object_match_labels_and_expressions() -> None:
    sel = from_label_selector_object(
        {
            "matchLabels": {"app": "web"},
            "matchExpressions": [
                {"key": "tier", "operator": "In", "values": ["fe", "be"]},
                {"key": "env", "operator": "NotIn", "values": ["prod"]},
                {"key": "team", "operator": "Exists"},
                {"key": "legacy", "operator": "DoesNotExist"},
            ],
        }
    )
    assert sel.matches({"app": "web", "tier": "fe", "env": "dev", "team": "a"})
    assert not sel.matches({"app": "web", "tier": "fe", "env": "prod", "team": "a"})
    assert not sel.matches({"app": "web", "tier": "fe", "team": "a", "legacy": "1"})
    assert str(sel) == "app=web,env notin (prod),!legacy,team,tier in (be,fe)"


def test_label_selector_object_none_or_empty_matches_everything() -> None:
    assert from_label_selector_object(None).matches({"a": "b"})
    assert from_label_selector_object({}).empty()
    assert from_label_selector_object({"matchLabels": {}, "matchExpressions": []}).empty()


def test_label_selector_object_bad_operator_error() -> None:
    with pytest.raises(SelectorError) as info:
        from_label_selector_object(
            {"matchExpressions": [{"key": "a", "operator": "Equals", "values": ["b"]}]}
        )
    assert str(info.value) == '"Equals" is not a valid label selector operator'


def test_label_selector_object_in_without_values_error() -> None:
    with pytest.raises(SelectorError) as info:
        from_label_selector_object({"matchExpressions": [{"key": "a", "operator": "In"}]})
    assert (
        str(info.value)
        == "values: Invalid value: null: for 'in', 'notin' operators, values set can't be empty"
    )


def test_label_selector_object_exists_with_values_error() -> None:
    with pytest.raises(SelectorError) as info:
        from_label_selector_object(
            {"matchExpressions": [{"key": "a", "operator": "Exists", "values": ["x"]}]}
        )
    assert str(info.value) == (
        'values: Invalid value: ["x"]: values set must be empty for exists and does not exist'
    )


def test_label_selector_object_bad_key_error_uses_key_path() -> None:
    with pytest.raises(SelectorError) as info:
        from_label_selector_object({"matchLabels": {"-x": "y"}})
    assert str(info.value) == f'key: Invalid value: "-x": {LABEL_KEY_REGEX_MSG}'


# --- field selectors


def test_field_selector_parses_equality_and_inequality() -> None:
    sel = FieldSelector.parse("status.phase!=Running,metadata.name=x")
    assert sel.requirements == [("metadata.name", "=", "x"), ("status.phase", "!=", "Running")]
    assert sel.matches({"metadata.name": "x", "status.phase": "Pending"})
    assert not sel.matches({"metadata.name": "x", "status.phase": "Running"})
    assert not sel.matches({"metadata.name": "y", "status.phase": "Pending"})


def test_field_selector_double_equals_reads_as_equals() -> None:
    assert FieldSelector.parse("a==b").requirements == [("a", "=", "b")]


def test_field_selector_missing_field_reads_as_empty_string() -> None:
    assert FieldSelector.parse("spec.nodeName=").matches({})
    assert FieldSelector.parse("spec.nodeName!=").matches({"spec.nodeName": "n1"})
    assert not FieldSelector.parse("spec.nodeName!=").matches({})


def test_field_selector_escapes() -> None:
    sel = FieldSelector.parse(r"a=b\,c\=d\\e")
    assert sel.requirements == [("a", "=", "b,c=d\\e")]
    assert str(sel) == r"a=b\,c\=d\\e"


def test_field_selector_empty_terms_are_skipped_and_empty_selects_all() -> None:
    assert FieldSelector.parse(",,a=1,").requirements == [("a", "=", "1")]
    assert FieldSelector.parse("").empty()
    assert FieldSelector.parse("").matches({"x": "y"})


def test_field_selector_errors_word_for_word() -> None:
    assert field_error("a") == "invalid selector: 'a'; can't understand 'a'"
    assert field_error("x=1,a") == "invalid selector: 'x=1,a'; can't understand 'a'"
    assert field_error("a=b=c") == "invalid field selector: unescaped character in value: 61"
    assert field_error(r"a=\x") == "invalid field selector: invalid escape sequence: \\x"
    assert field_error("a=b\\") == "invalid field selector: invalid escape sequence: \\"


def test_field_selector_convert_renames_pod_spec_host() -> None:
    sel = convert_field_selector(FieldSelector.parse("spec.host=n1"), "", "v1", "Pod")
    assert sel.requirements == [("spec.nodeName", "=", "n1")]


def test_field_selector_convert_renames_events_v1_regarding() -> None:
    sel = convert_field_selector(
        FieldSelector.parse("regarding.kind=Pod,reportingController=kubelet"), "events.k8s.io", "v1", "Event"
    )
    assert sel.requirements == [("involvedObject.kind", "=", "Pod"), ("reportingComponent", "=", "kubelet")]


@pytest.mark.parametrize(
    ("group", "kind", "label", "message"),
    [
        ("", "Pod", "spec.foo", "field label not supported: spec.foo"),
        ("", "Node", "metadata.namespace", "field label not supported: metadata.namespace"),
        ("batch", "Job", "spec.foo", 'field label "spec.foo" not supported for Job'),
        (
            "apps",
            "Deployment",
            "spec.replicas",
            '"spec.replicas" is not a known field selector: only "metadata.name", "metadata.namespace"',
        ),
        (
            "apps",
            "ReplicaSet",
            "status.replicas",
            '"status.replicas" is not a known field selector: only "metadata.name", "metadata.namespace"',
        ),
        (
            "resource.k8s.io",
            "ResourceSlice",
            "spec.pool",
            "field label not supported for resource.k8s.io/v1, Kind=ResourceSlice: spec.pool",
        ),
    ],
)
def test_field_selector_unsupported_label_messages(group: str, kind: str, label: str, message: str) -> None:
    assert unsupported_field_message(group, "v1", kind, label) == message
    with pytest.raises(SelectorError) as info:
        convert_field_selector(FieldSelector.parse(f"{label}=x"), group, "v1", kind)
    assert str(info.value) == message


def test_field_selector_convert_reports_first_unsupported_label_in_term_order() -> None:
    with pytest.raises(SelectorError) as info:
        convert_field_selector(FieldSelector.parse("zz=1,spec.bad=2,metadata.name=a"), "", "v1", "Pod")
    assert str(info.value) == "field label not supported: spec.bad"


def test_field_selector_custom_resource_fields() -> None:
    sel = FieldSelector.parse("spec.color=red,metadata.namespace=ns")
    out = convert_field_selector(
        sel, "ex.io", "v1", "Widget", custom_resource=True, selectable_fields=[".spec.color"]
    )
    assert out.requirements == sel.requirements
    with pytest.raises(SelectorError) as info:
        convert_field_selector(sel, "ex.io", "v1", "Widget", custom_resource=True, namespaced=False)
    assert str(info.value) == "field label not supported: metadata.namespace"


def test_supported_fields_per_kind() -> None:
    assert {"spec.nodeName", "spec.host", "status.podIPs", "metadata.namespace"} <= supported_fields(
        "", "Pod"
    )
    assert supported_fields("", "ConfigMap") == {"metadata.name", "metadata.namespace"}
    assert supported_fields("", "Namespace") == {"metadata.name", "status.phase"}
    assert supported_fields("certificates.k8s.io", "CertificateSigningRequest") == {
        "metadata.name",
        "spec.signerName",
    }
    assert {"spec.clusterIP", "spec.type"} <= supported_fields("", "Service")


# --- field attributes


def test_pod_field_attributes() -> None:
    pod = {
        "metadata": {"name": "p", "namespace": "ns"},
        "spec": {
            "nodeName": "n1",
            "restartPolicy": "Always",
            "schedulerName": "default-scheduler",
            "serviceAccountName": "sa",
            "hostNetwork": True,
        },
        "status": {
            "phase": "Running",
            "podIPs": [{"ip": "10.0.0.5"}, {"ip": "fd00::5"}],
            "nominatedNodeName": "",
        },
    }
    attrs = field_attributes("", "Pod", pod)
    assert attrs == {
        "metadata.name": "p",
        "metadata.namespace": "ns",
        "spec.nodeName": "n1",
        "spec.restartPolicy": "Always",
        "spec.schedulerName": "default-scheduler",
        "spec.serviceAccountName": "sa",
        "spec.hostNetwork": "true",
        "status.phase": "Running",
        "status.podIP": "10.0.0.5",
        "status.nominatedNodeName": "",
    }
    assert FieldSelector.parse("spec.nodeName=n1,status.phase!=Pending").matches(attrs)


def test_pod_field_attributes_default_host_network_false() -> None:
    attrs = field_attributes("", "Pod", {"metadata": {"name": "p"}, "spec": {}})
    assert attrs["spec.hostNetwork"] == "false"
    assert attrs["status.podIP"] == ""


def test_cluster_scoped_objects_have_empty_namespace() -> None:
    attrs = field_attributes("", "Node", {"metadata": {"name": "n1"}, "spec": {"unschedulable": True}})
    assert attrs == {"metadata.name": "n1", "metadata.namespace": "", "spec.unschedulable": "true"}


def test_core_event_field_attributes_fall_back_to_reporting_controller() -> None:
    event = {
        "metadata": {"name": "e", "namespace": "ns"},
        "involvedObject": {"kind": "Pod", "name": "p", "namespace": "ns", "uid": "u1", "apiVersion": "v1"},
        "reason": "Scheduled",
        "type": "Normal",
        "reportingComponent": "default-scheduler",
        "source": {},
    }
    attrs = field_attributes("", "Event", event)
    assert attrs["involvedObject.kind"] == "Pod"
    assert attrs["involvedObject.uid"] == "u1"
    assert attrs["source"] == "default-scheduler"
    assert attrs["reportingComponent"] == "default-scheduler"
    assert attrs["involvedObject.fieldPath"] == ""


def test_events_v1_field_attributes_use_core_names() -> None:
    event = {
        "metadata": {"name": "e", "namespace": "ns"},
        "regarding": {"kind": "Deployment", "name": "d"},
        "reportingController": "deployment-controller",
        "deprecatedSource": {"component": "old"},
        "reason": "ScalingReplicaSet",
        "type": "Normal",
    }
    attrs = field_attributes("events.k8s.io", "Event", event)
    assert attrs["involvedObject.kind"] == "Deployment"
    assert attrs["source"] == "old"
    sel = convert_field_selector(FieldSelector.parse("regarding.name=d"), "events.k8s.io", "v1", "Event")
    assert sel.matches(attrs)


def test_other_kind_field_attributes() -> None:
    assert field_attributes("", "Secret", {"metadata": {"name": "s"}, "type": "kubernetes.io/tls"})[
        "type"
    ] == ("kubernetes.io/tls")
    assert (
        field_attributes("", "Namespace", {"metadata": {"name": "n"}, "status": {"phase": "Terminating"}})[
            "status.phase"
        ]
        == "Terminating"
    )
    assert (
        field_attributes("batch", "Job", {"metadata": {"name": "j"}, "status": {"succeeded": 2}})[
            "status.successful"
        ]
        == "2"
    )
    assert field_attributes("batch", "Job", {"metadata": {"name": "j"}})["status.successful"] == "0"
    assert (
        field_attributes("apps", "ReplicaSet", {"metadata": {"name": "r"}, "status": {"replicas": 3}})[
            "status.replicas"
        ]
        == "3"
    )
    svc = field_attributes(
        "", "Service", {"metadata": {"name": "s"}, "spec": {"clusterIP": "None", "type": "ClusterIP"}}
    )
    assert (svc["spec.clusterIP"], svc["spec.type"]) == ("None", "ClusterIP")
    csr = field_attributes(
        "certificates.k8s.io",
        "CertificateSigningRequest",
        {"metadata": {"name": "c"}, "spec": {"signerName": "kubernetes.io/kubelet-serving"}},
    )
    assert csr["spec.signerName"] == "kubernetes.io/kubelet-serving"
    assert field_attributes("", "ConfigMap", {"metadata": {"name": "cm", "namespace": "ns"}}) == {
        "metadata.name": "cm",
        "metadata.namespace": "ns",
    }


def test_custom_resource_field_attributes_format_values_like_go() -> None:
    obj = {
        "metadata": {"name": "w", "namespace": "ns"},
        "spec": {"color": "red", "size": 3, "on": True, "r": 1e6},
    }
    attrs = custom_resource_field_attributes(
        obj,
        namespaced=True,
        selectable_fields=[".spec.color", ".spec.size", ".spec.on", ".spec.r", ".spec.none"],
    )
    assert attrs == {
        "metadata.name": "w",
        "metadata.namespace": "ns",
        "spec.color": "red",
        "spec.size": "3",
        "spec.on": "true",
        "spec.r": "1e+06",
        "spec.none": "",
    }
    assert "metadata.namespace" not in custom_resource_field_attributes(obj, namespaced=False)
