"""lxml's fast verdict on the storage schema (its XSD 1.0 form, open content projected
away) never accepts what xmlschema refuses on the XSD 1.1 schema itself — the findings
then come from xmlschema — and equals it on every sample, corpus file and check variant.
(Where lxml alone refuses, e.g. stray text between elements, xmlschema decides.)"""

from __future__ import annotations

import os

from check_variants import variants
from conftest import SAMPLES, conformance_inputs
from hypothesis import HealthCheck, given, settings
from test_check_fuzz import mutated

from virtxlate.errors import VirtxlateError
from virtxlate.rules.schema import _schema, fast_valid
from virtxlate.xmlinput import load_document, parse_text


def _same_verdict(document) -> None:  # type: ignore[no-untyped-def]
    assert fast_valid(document) == _schema().is_valid(document.root), document.source


def test_the_two_validators_agree_on_every_known_domain():
    for path in sorted(SAMPLES.glob("*.xml")) + conformance_inputs():
        _same_verdict(load_document(str(path)))
    for variant in variants():
        _same_verdict(parse_text(variant.xml, variant.name))


@settings(max_examples=int(os.environ.get("VIRTXLATE_SCHEMA_FUZZ_EXAMPLES", "2000")),
          deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(xml=mutated())
def test_the_two_validators_agree_on_mutated_domains(xml):
    try:
        document = parse_text(xml)
    except VirtxlateError:
        return   # not XML: neither validator sees it
    if fast_valid(document):
        assert _schema().is_valid(document.root)


def test_text_after_an_undeclared_element_is_still_refused():
    # the projection drops <memballoon>; the stray text after it must stay to be refused
    xml = ("<domain type='qemu'><name>t</name><devices><memballoon model='none'/>-1"
           "</devices></domain>")
    document = parse_text(xml)
    assert not _schema().is_valid(document.root)
    assert not fast_valid(document)
