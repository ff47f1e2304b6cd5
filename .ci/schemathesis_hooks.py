"""Schemathesis hooks for `.ci/schemathesis`: steer generated requests at seeded data.

Schemathesis generates requests from /openapi.json alone, so almost every path it draws
names an org, campaign or donation that does not exist, and almost every write would be
refused 401/403/404/422 before it reached the code that logs anything. These hooks make
part of the generated requests (never the parts schemathesis made invalid on purpose)
land on the data `pennytrail demo` seeded, so the write routes also answer 2xx and their
success answers are checked against the schema too:

- path parameters: `{org}` becomes the org whose token the run holds (`PT_ORG`), or, on
  the operator's token routes, a spare org (`PT_SPARE_ORG`) so that reissuing or revoking
  a token never locks the run out; `{campaign}`, `{id}`, `{seq}` and `{file}` become
  existing ones;
- query parameters: sizes become the log's current size (a stored checkpoint);
- bodies: ids become fresh ones (a repeated id is a replay or a conflict), references
  become existing records, and amounts small enough never to overspend;
- signed bodies (acknowledgements, key rotations, reports): generated data cannot carry a
  valid Ed25519 signature, so the hooks sign them with the demo's keys (derived from
  public names in src/demo.rs, `demo_key`), and a report states the figures the log
  implies (from `GET .../report-figures`), as `pennytrail report draft` does.

The other way round, a request whose path or query schemathesis made invalid on purpose
gets, half of the time, one of `HOSTILE_VALUES` (NUL bytes, 10,000 characters, `..`,
right-to-left and combining characters, numbers past 2^64) in one of its parameters
(`_hostile`): each must be refused 4xx, never answered 5xx.

Each steering happens with probability `STEER_PROBABILITY`, so the unsteered rest still
probes unknown ids, other orgs' routes and the rule checks. `filter_failure` accepts one
kind of failure only, `positive_data_acceptance` on refusals the schema cannot express
(see `STATE_DEPENDENT_REFUSALS`); everything else fails the run.

Configuration comes from the environment (set by `.ci/schemathesis`): PT_URL, PT_ORG,
PT_SPARE_ORG, PT_SEED, and PT_ACCEPTED_LOG (where accepted refusals are listed).
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import json
import os
import random
import threading

import requests
import schemathesis
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from schemathesis import GenerationMode
from schemathesis.generation.meta import TestPhase

URL = os.environ["PT_URL"].rstrip("/")
ORG = os.environ["PT_ORG"]
SPARE_ORG = os.environ["PT_SPARE_ORG"]

# Half of the eligible requests are steered: enough 2xx answers on every write route,
# while the other half keeps probing what does not exist.
STEER_PROBABILITY = 0.5

# Amounts of steered disbursements: small against what the seeded campaign holds
# (thousands of minor units), and donations keep adding to it during the run.
MAX_STEERED_DISBURSEMENT = 20

# Amounts of steered donations: far from the 2^53 - 1 limit of the campaign's totals.
MAX_STEERED_DONATION = 1_000_000_000

# Values bad input is made of, for path and query parameters of negative cases (the
# Rust test tests/integration/hostile_input.rs sends the same kinds, and bytes that are not UTF-8,
# as raw HTTP to every route).
HOSTILE_VALUES = [
    "\x00",
    "a\x00b",
    "x" * 10_000,
    "..",
    "abc\u202edef",
    "e\u0301\u0301\u0301",
    "18446744073709551616",
    "99999999999999999999999999999",
    "-1",
    "=1+1",
]

RANDOM = random.Random(int(os.environ.get("PT_SEED", "0")))
FRESH = itertools.count()
LOCK = threading.Lock()

# The CSV files `GET /v1/exports/{file}` serves, and the archive.
EXPORT_FILES = [
    "entries.csv",
    "orgs.csv",
    "beneficiaries.csv",
    "campaigns.csv",
    "stated_beneficiaries.csv",
    "donations.csv",
    "disbursements.csv",
    "flows.csv",
    "corrections.csv",
    "bundle.tar",
]

# `positive_data_acceptance` refusals that are right although the request matches the
# schema, because the rule depends on the log's state, ties two fields together, or is
# beyond a JSON schema (cryptography, the calendar, the list of currencies). Each entry is
# (problem type slug, field at fault, or its last segment for list items, a phrase of the
# detail or None). The schema itself (src/formats.rs) spells out every format
# it can, so any other refusal of schema-valid data fails the run.
STATE_DEPENDENT_REFUSALS = [
    # A ledger rule decided against the log: an unknown or unstated campaign or
    # beneficiary, overspending, a currency other than the campaign's, a corrected field
    # the corrected entry does not have, report figures other than the log's, a signature
    # that does not verify.
    ("rule-violation", "*", None),
    # Two items of one batch with the same id.
    ("duplicate-id", "*", None),
    # The key id a verifier key states must be the one its name and key imply.
    ("invalid-field", "public_key", None),
    # ISO 4217: the schema gives the shape, not which codes are assigned or have minor units.
    ("invalid-field", "currency", None),
    # The calendar: the 31st of April matches the pattern.
    ("invalid-field", "occurred_at", None),
    # Two fields together.
    ("invalid-field", "fee", "must not exceed amount"),
    ("invalid-field", "donor_commitment", "not both"),
    ("invalid-field", "from_size", "must not be after"),
    ("invalid-field", "from_size", "is after to_size"),
    # The same range as `report-figures`' query spells it.
    ("invalid-field", "from", "is after to"),
    ("bad-parameter", "from", "is after to"),
    ("bad-parameter", "from", "must not exceed to"),
    ("bad-parameter", "campaign", "give org as well"),
    ("bad-parameter", "campaign", "no campaign column"),
    # `bundle.tar` is the whole bundle: the CSV files' query parameters do not apply.
    ("bad-parameter", "*", "takes no query parameters"),
    # JSON Schema's `integer` includes numbers written with a fraction such as 402.0; the
    # API takes integers written as integers (money never passes through a float).
    ("invalid-body", "*", "expected a whole number written without a decimal point"),
    # Sizes beyond the log's current size.
    ("bad-parameter", "to", "exceeds the log size"),
    ("bad-parameter", "to", "past the latest signed checkpoint"),
    ("invalid-field", "to_size", "past the latest signed checkpoint"),
    ("invalid-field", "to", "past the latest signed checkpoint"),
]


def _fresh_id(prefix: str) -> str:
    with LOCK:
        return f"st-{prefix}-{os.getpid()}-{next(FRESH)}"


def _steer() -> bool:
    with LOCK:
        return RANDOM.random() < STEER_PROBABILITY


def _choice(values: list):
    with LOCK:
        return RANDOM.choice(values)


def _randint(low: int, high: int) -> int:
    with LOCK:
        return RANDOM.randint(low, high)


def _get(path: str) -> dict:
    response = requests.get(f"{URL}{path}", timeout=30)
    response.raise_for_status()
    return response.json()


def _log_size() -> int:
    return _get("/v1/log")["size"]


# --- keys (C2SP signed-note verifier keys, as src/log/note.rs spells them) ------------


class Key:
    """An Ed25519 key with its C2SP note name."""

    def __init__(self, name: str, seed: bytes):
        self.name = name
        self.private = Ed25519PrivateKey.from_private_bytes(seed)
        public = self.private.public_key().public_bytes_raw()
        key_id = hashlib.sha256(name.encode() + b"\n\x01" + public).digest()[:4]
        encoded = base64.b64encode(b"\x01" + public).decode()
        self.verifier = f"{name}+{key_id.hex()}+{encoded}"

    def sign(self, message: bytes) -> str:
        return base64.b64encode(self.private.sign(message)).decode()


def demo_key(scope: str, name: str) -> Key:
    """The key `pennytrail demo` derives for `(scope, name)` (src/demo.rs `demo_key`)."""
    return Key(name, hashlib.sha256(f"pennytrail demo key {scope} {name}".encode()).digest())


def fresh_key() -> Key:
    return Key(_fresh_id("key"), os.urandom(32))


def canonical_json(value) -> bytes:
    """The log's canonical JSON for the report subset (ASCII ids, integers, sorted keys)."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


# --- the seeded data, read once through the public API ---------------------------------


class Seeded:
    def __init__(self) -> None:
        log = _get("/v1/log")
        self.origin = log["origin"]
        org = f"/v1/orgs/{ORG}"
        self.campaigns = [c["id"] for c in _get(f"{org}/campaigns?limit=500")["campaigns"]]
        campaign = _get(f"{org}/campaigns/{self.campaigns[0]}")
        self.campaign = campaign["id"]
        self.campaign_seq = campaign["seq"]
        self.stated = [b["beneficiary"] for b in campaign["beneficiaries"]]
        beneficiaries = _get(f"{org}/beneficiaries?limit=500")["beneficiaries"]
        self.beneficiaries = [b["id"] for b in beneficiaries]
        self.beneficiary_seqs = [b["seq"] for b in beneficiaries]
        # Beneficiaries the demo gave keys (so they can acknowledge their payouts).
        self.keyed = {b["id"] for b in beneficiaries if "public_key" in b}
        self.donations = [d["id"] for d in _get(f"{org}/donations?limit=500")["donations"]]
        disbursements = _get(f"{org}/disbursements?limit=500")["disbursements"]
        self.disbursements = [d["id"] for d in disbursements]
        self.disbursement_seqs = [d["seq"] for d in disbursements]
        self.reports = [r["report"] for r in _get(f"{org}/reports?limit=500")["reports"]]
        registered = _get(org)
        # The org's current signing key and the seq of the entry that set it; a key
        # rotation the run logs moves both (see `after_call`).
        self.org_key = demo_key("org", ORG)
        assert registered.get("public_key") == self.org_key.verifier, "not a demo org"
        self.org_key_seq = registered["seq"]
        self.pending_rotation: dict[str, Key] = {}
        # Payouts to keyed beneficiaries a steered acknowledgement may name.
        self.ackable = [
            d["id"] for d in disbursements if d["beneficiary"] in self.keyed
        ]


SEEDED = Seeded()


# --- steering ----------------------------------------------------------------------------


def _positive(case: schemathesis.Case, location: str) -> bool:
    """Whether `case`'s `location` component is schema-valid (leave negative ones alone)."""
    meta = case.meta
    if meta is None:
        return True
    for where, info in meta.components.items():
        if where.value == location:
            return info.mode == GenerationMode.POSITIVE
    return True


def _stateful(case: schemathesis.Case) -> bool:
    """Whether `case` is a step of the stateful phase (links between operations)."""
    meta = case.meta
    return meta is not None and meta.phase.name == TestPhase.STATEFUL


def _steer_path(case: schemathesis.Case) -> None:
    params = case.path_parameters
    if not params or not _positive(case, "path"):
        return
    path = case.operation.path
    if path.startswith("/v1/admin/"):
        # Never the run's own org: a reissued or revoked token would lock the run out.
        # Schemathesis also draws ids it saw in earlier answers, so this is not rare.
        # A stateful step's org comes from the answer it follows (an org just
        # registered, which it then checks is there): that one is left alone, or the
        # spare org, whose token an earlier step may have revoked, answers 404.
        if params.get("org") == ORG or (_steer() and not _stateful(case)):
            params["org"] = SPARE_ORG
        return
    if "org" in params and _steer():
        params["org"] = ORG
    if params.get("org") != ORG:
        return
    if "campaign" in params and _steer():
        params["campaign"] = _choice(SEEDED.campaigns)
    if "id" in params and _steer():
        if "/donations/" in path:
            params["id"] = _choice(SEEDED.donations)
        elif path.endswith("/acknowledgement"):
            params["id"] = _choice(SEEDED.ackable)
        elif "/disbursements/" in path:
            params["id"] = _choice(SEEDED.disbursements)
        elif "/beneficiaries/" in path:
            params["id"] = _choice(SEEDED.beneficiaries)
        elif "/reports/" in path:
            params["id"] = _choice(SEEDED.reports)


def _steer_global_path(case: schemathesis.Case) -> None:
    params = case.path_parameters
    if not params or not _positive(case, "path") or not _steer():
        return
    if "seq" in params:
        params["seq"] = _randint(0, _log_size() - 1)
    if "file" in params:
        params["file"] = _choice(EXPORT_FILES)


def _steer_query(case: schemathesis.Case) -> None:
    query = case.query
    if not query or not _positive(case, "query") or not _steer():
        return
    size = _log_size()
    label = case.operation.label
    if label == "GET /v1/proofs/consistency":
        query["to"] = size
        query["from"] = _randint(0, size)
    elif label == "GET /v1/entries/{seq}/proof":
        query.pop("size", None)
    elif label == "GET /v1/exports/{file}" and case.path_parameters.get("file") == "bundle.tar":
        query.clear()
    elif label in ("GET /v1/exports/{file}", "GET /v1/orgs/{org}/report-figures"):
        to = _randint(0, size)
        query["to"] = to
        query["from"] = _randint(0, to)
        if "org" in query:
            query["org"] = ORG
        if "campaign" in query:
            query["campaign"] = SEEDED.campaign
            query["org"] = ORG


def _text(value, fallback: str) -> str:
    """A generated text if the server would take it (1-200 chars, no control chars, not
    blank), else `fallback`; the schema does not spell out every one of these rules."""
    if (
        isinstance(value, str)
        and value.strip()
        and len(value) <= 200
        and not any(ord(c) < 32 or 127 <= ord(c) < 160 for c in value)
    ):
        return value
    return fallback


def _amount(value, low: int, high: int) -> int:
    """A generated amount if it is in [low, high], else one that is: amounts near 2^53
    would overflow the seeded campaign's running totals (a ledger rule refuses them)."""
    if isinstance(value, int) and not isinstance(value, bool) and low <= value <= high:
        return value
    return _randint(low, high)


def _donation(body: dict) -> None:
    body["id"] = _fresh_id("don")
    body["campaign"] = SEEDED.campaign
    body.pop("currency", None)
    body["amount"] = _amount(body.get("amount"), 1, MAX_STEERED_DONATION)
    body["fee"] = _amount(body.get("fee"), 0, body["amount"])
    if body.get("donor_ref") is not None:
        body.pop("donor_commitment", None)


def _disbursement(body: dict) -> None:
    body["id"] = _fresh_id("pay")
    body["campaign"] = SEEDED.campaign
    body["beneficiary"] = _choice(SEEDED.stated)
    body["amount"] = _randint(1, MAX_STEERED_DISBURSEMENT)


def _beneficiary(body: dict) -> None:
    body["id"] = _fresh_id("ben")
    body["public_key"] = _choice([None, fresh_key().verifier])


def _org(body: dict) -> None:
    body["id"] = _fresh_id("org")
    body["public_key"] = _choice([None, fresh_key().verifier])


def _campaign(body: dict) -> None:
    body["id"] = _fresh_id("camp")
    body["currency"] = _choice(["EUR", "KES", "JPY", "KWD"])
    count = _randint(1, 3)
    body["beneficiaries"] = [_choice(SEEDED.beneficiaries) for _ in range(count)]
    body["beneficiaries"] = sorted(set(body["beneficiaries"]))


def _statement(case: schemathesis.Case, body: dict) -> None:
    # A new beneficiary, registered for this statement (each may be stated once).
    beneficiary = _fresh_id("ben")
    response = requests.post(
        f"{URL}/v1/orgs/{ORG}/beneficiaries",
        json={"id": beneficiary, "label": "Statement target", "kind": "supplier", "country": "KE"},
        headers={"Authorization": f"Bearer {os.environ['ORG_TOKEN']}"},
        timeout=30,
    )
    response.raise_for_status()
    body["beneficiaries"] = [beneficiary]
    case.path_parameters["campaign"] = SEEDED.campaign
    case.path_parameters["org"] = ORG


def _correction(body: dict) -> None:
    body["id"] = _fresh_id("fix")
    kind = _choice(["campaign", "disbursement", "beneficiary"])
    if kind == "campaign":
        body["corrects"] = SEEDED.campaign_seq
        name = _choice(["title", "purpose"])
    elif kind == "disbursement":
        body["corrects"] = _choice(SEEDED.disbursement_seqs)
        name = "purpose"
    else:
        body["corrects"] = _choice(SEEDED.beneficiary_seqs)
        name = "label"
    values = body.get("fields") if isinstance(body.get("fields"), dict) else {}
    value = next(iter(values.values()), None)
    body["fields"] = {name: _text(value, "Corrected by the schemathesis run")}


def _acknowledgement(case: schemathesis.Case, body: dict) -> None:
    disbursement_id = _choice(SEEDED.ackable)
    case.path_parameters["org"] = ORG
    case.path_parameters["id"] = disbursement_id
    disbursement = _get(f"/v1/orgs/{ORG}/disbursements/{disbursement_id}")
    seq = disbursement["seq"]
    entry = requests.get(f"{URL}/v1/entries/{seq}", timeout=30).content
    leaf = hashlib.sha256(b"\x00" + entry).hexdigest()
    status = body.get("status") if body.get("status") in ("received", "disputed") else "received"
    if status == "received":
        amount = disbursement["amount"]
    else:
        amount = _randint(0, disbursement["amount"])
    body["status"] = status
    body["amount_received"] = amount
    key = demo_key(ORG, disbursement["beneficiary"])
    message = f"pennytrail/ack/v1\n{SEEDED.origin}\n{seq}\n{leaf}\n{status}\n{amount}\n"
    body["signature"] = key.sign(message.encode())


def _first_key(case: schemathesis.Case, body: dict) -> None:
    # A new org registered without a key, whose first key the operator then states.
    org = _fresh_id("keyless")
    response = requests.post(
        f"{URL}/v1/admin/orgs",
        json={"id": org, "name": "Keyless org", "country": "KE"},
        headers={"Authorization": f"Bearer {os.environ['OPERATOR_TOKEN']}"},
        timeout=30,
    )
    response.raise_for_status()
    case.path_parameters["org"] = org
    body["public_key"] = fresh_key().verifier


def _key_rotation(case: schemathesis.Case, body: dict) -> None:
    case.path_parameters["org"] = ORG
    new = fresh_key()
    with LOCK:
        current, current_seq = SEEDED.org_key, SEEDED.org_key_seq
        SEEDED.pending_rotation[new.verifier] = new
    message = (
        f"pennytrail/org-key/v1\n{SEEDED.origin}\n{ORG}\n{current_seq}\n{new.verifier}\n"
    )
    body["public_key"] = new.verifier
    body["signature"] = current.sign(message.encode())


def _report(case: schemathesis.Case, body: dict) -> None:
    case.path_parameters["org"] = ORG
    size = _log_size()
    to = _randint(0, size)
    start = _randint(0, to)
    figures = _get(f"/v1/orgs/{ORG}/report-figures?from={start}&to={to}")
    body["id"] = _fresh_id("report")
    body["from_size"] = start
    body["to_size"] = to
    body["campaigns"] = figures["campaigns"]
    body["beneficiary_kinds"] = figures["beneficiary_kinds"]
    document = body.get("document_sha256")
    if document is not None:
        body["document_sha256"] = hashlib.sha256(str(document).encode()).hexdigest()
    body.pop("signature", None)
    unsigned = {k: v for k, v in body.items() if v is not None}
    unsigned["report"] = unsigned.pop("id")
    unsigned["org"] = ORG
    with LOCK:
        key = SEEDED.org_key
    message = b"pennytrail/report/v1\n" + SEEDED.origin.encode() + b"\n"
    body["signature"] = key.sign(message + canonical_json(unsigned) + b"\n")


def _batch(body: dict, items: str, steer_item) -> None:
    if isinstance(body.get(items), list):
        for item in body[items]:
            if isinstance(item, dict):
                steer_item(item)


def _steer_body(case: schemathesis.Case) -> None:
    body = case.body
    if not isinstance(body, dict) or not _positive(case, "body"):
        return
    label = case.operation.label
    own_org = case.path_parameters.get("org") == ORG
    # Signed bodies and statements are steered with the path, always to the run's org.
    if label == "POST /v1/orgs/{org}/disbursements/{id}/acknowledgement":
        if _steer() and SEEDED.ackable:
            _acknowledgement(case, body)
        return
    if label == "POST /v1/orgs/{org}/key":
        if _steer():
            _key_rotation(case, body)
        return
    if label == "POST /v1/orgs/{org}/reports":
        if _steer():
            _report(case, body)
        return
    if label == "POST /v1/orgs/{org}/campaigns/{campaign}/beneficiaries":
        if _steer():
            _statement(case, body)
        return
    if label == "POST /v1/admin/orgs":
        if _steer():
            _org(body)
        return
    if label == "POST /v1/admin/orgs/{org}/key":
        if _steer():
            _first_key(case, body)
        return
    if not own_org or not _steer():
        return
    steer = {
        "POST /v1/orgs/{org}/donations": _donation,
        "POST /v1/orgs/{org}/disbursements": _disbursement,
        "POST /v1/orgs/{org}/beneficiaries": _beneficiary,
        "POST /v1/orgs/{org}/campaigns": _campaign,
        "POST /v1/orgs/{org}/corrections": _correction,
    }.get(label)
    if steer is not None:
        steer(body)
    elif label == "POST /v1/orgs/{org}/donations/batch":
        _batch(body, "donations", _donation)
    elif label == "POST /v1/orgs/{org}/disbursements/batch":
        _batch(body, "disbursements", _disbursement)
    elif label == "POST /v1/orgs/{org}/beneficiaries/batch":
        _batch(body, "beneficiaries", _beneficiary)


def _hostile(case: schemathesis.Case) -> None:
    """Puts a hostile value into one parameter of a path or query schemathesis made
    invalid on purpose (the answer must be a 4xx either way). `..` goes only into query
    strings: in a path, the HTTP client resolves it to another route before it is sent
    (tests/integration/hostile_input.rs sends it raw)."""
    for location, params in (("path", case.path_parameters), ("query", case.query)):
        if params and not _positive(case, location) and _steer():
            values = [v for v in HOSTILE_VALUES if location == "query" or v != ".."]
            params[_choice(sorted(params))] = _choice(values)


@schemathesis.hook
def map_case(context, case: schemathesis.Case) -> schemathesis.Case:
    _hostile(case)
    _steer_global_path(case)
    _steer_path(case)
    _steer_query(case)
    _steer_body(case)
    return case


@schemathesis.hook
def after_call(context, case: schemathesis.Case, response) -> None:
    """Follows the org's key rotations, so later reports and rotations sign with the
    current key."""
    if case.operation.label != "POST /v1/orgs/{org}/key" or response.status_code != 201:
        return
    if case.path_parameters.get("org") != ORG:
        return
    answer = response.json()
    new = answer["entry"]["public_key"]
    with LOCK:
        key = SEEDED.pending_rotation.pop(new, None)
        if key is not None:
            SEEDED.org_key, SEEDED.org_key_seq = key, answer["seq"]


@schemathesis.hook
def filter_failure(context, failure, case: schemathesis.Case, response) -> bool:
    """Keeps every failure except a refusal of schema-valid data for a reason the schema
    cannot express (`STATE_DEPENDENT_REFUSALS`)."""
    if failure.code != "ST202":
        return True
    try:
        problem = response.json()
    except ValueError:
        return True
    kind = str(problem.get("type", "")).removeprefix("urn:pennytrail:problem:")
    field = str(problem.get("field", "")).rsplit(".", 1)[-1]
    detail = str(problem.get("detail", ""))
    for accepted_kind, accepted_field, phrase in STATE_DEPENDENT_REFUSALS:
        if (
            kind == accepted_kind
            and accepted_field in ("*", field)
            and (phrase is None or phrase in detail)
        ):
            _record_accepted(case, response.status_code, problem)
            return False
    return True


def _record_accepted(case: schemathesis.Case, status: int, problem: dict) -> None:
    """Appends an accepted refusal to `PT_ACCEPTED_LOG`, for the summary."""
    path = os.environ.get("PT_ACCEPTED_LOG")
    if not path:
        return
    line = {
        "route": case.operation.label,
        "status": status,
        "type": problem.get("type"),
        "field": problem.get("field"),
        "rule": problem.get("rule"),
        "detail": str(problem.get("detail", ""))[:200],
    }
    with LOCK, open(path, "a", encoding="utf-8") as f:
        f.write(json.dumps(line) + "\n")
