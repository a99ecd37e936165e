"""Resolve every case of the differential corpus with botocore (issue 6, item 2).

Run by tests/differential_botocore.rs with the venv's Python:

    python differential_botocore.py CORPUS.json > RESULTS.json

CORPUS.json is a list of cases, each {"id", "env": {VAR: value}, "profile": name or null}. For each
case the process environment is replaced by the case's `env` (it names the config and
credentials files) and a fresh botocore Session, given `profile` as an explicit profile (what
`aws --profile` does), resolves credentials. The output is a list of
{"id", "outcome": "credentials" | "none" | "error", "access_key_id"?, "secret_access_key"?,
"session_token"?, "error"?}.
"""

import json
import os
import sys

import botocore.session


def resolve(case):
    os.environ.clear()
    os.environ.update(case["env"])
    try:
        session = botocore.session.Session(profile=case.get("profile"))
        credentials = session.get_credentials()
        if credentials is None:
            return {"outcome": "none"}
        frozen = credentials.get_frozen_credentials()
        return {
            "outcome": "credentials",
            "access_key_id": frozen.access_key,
            "secret_access_key": frozen.secret_key,
            "session_token": frozen.token,
        }
    except Exception as error:  # every failure is an outcome to compare
        return {"outcome": "error", "error": f"{type(error).__name__}: {error}"}


def main():
    with open(sys.argv[1], encoding="utf-8") as corpus:
        cases = json.load(corpus)
    results = [dict(id=case["id"], **resolve(case)) for case in cases]
    json.dump(results, sys.stdout)


if __name__ == "__main__":
    main()
