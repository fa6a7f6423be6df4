"""apps/audit/diff.py: an entry's before and after as rows, without a database."""

from apps.audit.diff import AuditDiffRow, audit_diff, value_text


def rows(diff) -> list[tuple[str, str | None, str | None, str]]:
    return [(row.key, row.before, row.after, row.change) for row in diff.rows]


def test_an_update_has_a_row_for_every_key_of_before_and_after():
    diff = audit_diff(
        before={"service_id": 301, "note": "old", "period": 2, "retired": True},
        after={"service_id": 302, "note": "old", "period": 2, "unit_cost": "0.00"},
    )

    assert diff.kind == "updated"
    assert (diff.has_before, diff.has_after) == (True, True)
    assert rows(diff) == [
        ("note", "old", "old", "unchanged"),
        ("period", "2", "2", "unchanged"),
        ("retired", "true", None, "removed"),
        ("service_id", "301", "302", "changed"),
        ("unit_cost", None, "0.00", "added"),
    ]
    assert [row.key for row in diff.changed_rows] == ["retired", "service_id", "unit_cost"]
    assert [row.key for row in diff.unchanged_rows] == ["note", "period"]


def test_which_side_of_a_row_is_marked():
    diff = audit_diff(before={"a": 1, "b": 1, "c": 1}, after={"a": 2, "b": 1, "d": 1})
    marks = {row.key: (row.before_marked, row.after_marked) for row in diff.rows}
    assert marks == {
        "a": (True, True),  # changed
        "b": (False, False),  # unchanged
        "c": (True, False),  # removed
        "d": (False, True),  # added
    }


def test_a_created_object_has_only_after():
    diff = audit_diff(before=None, after={"company_id": 29683812, "name": "Contoso"})

    assert diff.kind == "created"
    assert (diff.has_before, diff.has_after) == (False, True)
    assert rows(diff) == [
        ("company_id", None, "29683812", "added"),
        ("name", None, "Contoso", "added"),
    ]
    assert diff.unchanged_rows == ()


def test_a_deleted_object_has_only_before():
    diff = audit_diff(before={"company_id": 29683812}, after=None)

    assert diff.kind == "deleted"
    assert (diff.has_before, diff.has_after) == (True, False)
    assert rows(diff) == [("company_id", "29683812", None, "removed")]


def test_nothing_recorded_has_no_rows():
    diff = audit_diff(before=None, after=None)
    assert (diff.kind, diff.rows, diff.has_before, diff.has_after) == ("empty", (), False, False)


def test_nested_values_are_one_row_each_as_compact_json():
    diff = audit_diff(
        before={"settings": {"markup": {"percent": "5"}, "zones": ["eu", "us"]}, "ids": [1, 2]},
        after={"settings": {"zones": ["eu", "us"], "markup": {"percent": "5"}}, "ids": [1, 3]},
    )

    assert rows(diff) == [
        ("ids", "[1, 2]", "[1, 3]", "changed"),
        # Key order inside an object does not count, and is sorted in the text.
        (
            "settings",
            '{"markup": {"percent": "5"}, "zones": ["eu", "us"]}',
            '{"markup": {"percent": "5"}, "zones": ["eu", "us"]}',
            "unchanged",
        ),
    ]


def test_values_of_another_json_type_are_a_change():
    diff = audit_diff(
        before={"number": 1, "flag": 1, "text": "1", "empty": None, "blank": ""},
        after={"number": 1.0, "flag": True, "text": 1, "empty": None, "blank": None},
    )
    assert {row.key: (row.before, row.after, row.change) for row in diff.rows} == {
        "blank": ("", "null", "changed"),
        "empty": ("null", "null", "unchanged"),
        "flag": ("1", "true", "changed"),
        "number": ("1", "1.0", "changed"),
        "text": ("1", "1", "changed"),  # the string "1" became the number 1
    }


def test_a_side_that_is_not_an_object_is_one_row():
    diff = audit_diff(before=["E3"], after=["E3", "E5"])
    assert rows(diff) == [("value", '["E3"]', '["E3", "E5"]', "changed")]

    created = audit_diff(before=None, after="March 2025")
    assert rows(created) == [("value", None, "March 2025", "added")]


def test_text_of_a_value():
    assert value_text("Contoso → Fabrikam") == "Contoso → Fabrikam"
    assert value_text(None) == "null"
    assert value_text(False) == "false"
    assert value_text(12.5) == "12.5"
    assert value_text({"b": 1, "a": ["é"]}) == '{"a": ["é"], "b": 1}'


def test_a_row_knows_whether_it_changed():
    assert AuditDiffRow(key="a", before="1", after="2", change="changed").is_changed
    assert not AuditDiffRow(key="a", before="1", after="1", change="unchanged").is_changed
