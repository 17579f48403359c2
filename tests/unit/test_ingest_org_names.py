"""Org names of org-level vendor exports (folder or content): what may be stored as an org id."""

from __future__ import annotations

import pytest

from theater.sources.exports.reader import VendorFile, org_name_problem, org_problem

KNOWN = {"org-001", "org-legal"}


@pytest.mark.parametrize(
    "name,known,expected",
    [
        ("org-001", KNOWN, None),
        ("  org-001 ", KNOWN, None),  # a folder name's surrounding spaces are not part of it
        ("org-999", KNOWN, "not an org of the directory"),
        ("acme", None, None),  # no directory yet: nothing to check against
        ("<img src=x onerror=alert(1)>", None, "markup, formula or control"),
        ('=HYPERLINK("http:x","y")', KNOWN, "markup, formula or control"),
        ("+1", None, "markup, formula or control"),
        ("@SUM(A1)", None, "markup, formula or control"),
        ("-2", None, "markup, formula or control"),
        ("a\tb", None, "markup, formula or control"),
        ("org&co", None, "markup, formula or control"),
        ("", None, "markup, formula or control"),
    ],
)
def test_org_name_problem(name, known, expected):
    got = org_name_problem(name, known)
    assert (got is None) if expected is None else (expected in got)


def _file(org):
    fmt = "github_copilot_org_metrics"
    return VendorFile(f"vendor/{fmt}", fmt, "/x/m.json", f"vendor/{fmt}/m.json", 1, "0" * 64, org)


def test_org_problem_names_the_folder_the_file_belongs_in():
    where = "landing/vendor/github_copilot_org_metrics/<org_id>/"
    assert where in org_problem(_file(None), None, KNOWN)
    assert org_problem(_file(None), None, KNOWN).startswith("org-level export without an org")
    unknown = org_problem(_file("org-999"), "org-999", KNOWN)
    assert where in unknown and "(directory orgs: org-001, org-legal)" in unknown
    assert org_problem(_file("org-001"), "org-001", KNOWN) is None
    # a long hostile name is cut and quoted in the message
    long = "<" + "x" * 200
    msg = org_problem(_file(long), long, None)
    assert "x" * 61 not in msg and "…" in msg
