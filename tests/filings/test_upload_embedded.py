"""The progress bar on the embedded default (SQLite, Celery inline, the local-memory cache), in a process
of its own (issue 16, item 4): while a dry run holds its transaction inside one request, a second
request of the same user reads its progress, answered at once (SQLite in WAL mode; the status request
writes no session).
"""

import json

from tests.conftest import embedded_sqlite_manage

SCRIPT = r"""
import json, threading, time
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from tests.factories import OperatorFactory, operator_staff

operator = OperatorFactory()
user = operator_staff(operator)
header = "external_id,occurred_at,direction,investor_ref,platform,platform_country,asset,amount,value_byn\n"
rows = "".join(f"T{i},2025-03-05T10:00:00Z,OUT,inv{i},binance,AE,USDT,1.5,{i}.25\n" for i in range(ROWS))
sender = Client(SERVER_NAME="127.0.0.1")
sender.force_login(user)
poller = Client(SERVER_NAME="127.0.0.1")
poller.cookies = sender.cookies
answer = {}

def send():
    response = sender.post("/filings/", {
        "operator": operator.pk, "kind": "transfer_register", "period_start": "2025-03-01",
        "period_end": "2025-03-31", "action": "dry_run", "upload_token": "tok-embedded",
        "file": SimpleUploadedFile("big.csv", (header + rows).encode()),
    })
    answer["status"] = response.status_code
    answer["location"] = response.get("Location", "")

thread = threading.Thread(target=send)
thread.start()
polls = []
while thread.is_alive():
    started = time.monotonic()
    response = poller.get("/filings/uploads/tok-embedded/progress.json")
    body = response.json() if response.status_code == 200 else {}
    seconds = round(time.monotonic() - started, 3)
    polls.append([response.status_code, seconds, body.get("phase"), body.get("rows_read"), body.get("rows_total")])
    time.sleep(0.2)
thread.join()
print(json.dumps({"answer": answer, "polls": polls}))
"""


def test_progress_is_read_during_an_inline_dry_run_on_sqlite(tmp_path):
    run = embedded_sqlite_manage(tmp_path, [])
    rows = 40_000
    out = json.loads(run("shell", "-c", SCRIPT.replace("ROWS", str(rows))).strip().splitlines()[-1])
    assert out["answer"]["status"] == 302
    assert "/filings/checks/" in out["answer"]["location"]
    polls = out["polls"]
    assert polls, "the dry run ended before a single status request"
    assert all(status == 200 for status, *_ in polls), polls
    # Answered at once, not after the dry run's transaction (SQLite's 20 s lock timeout).
    assert max(seconds for _, seconds, *_ in polls) < 5, polls
    midway = [p for p in polls if p[2] == "rows" and p[4] == rows and 0 < p[3] < rows]
    assert midway, polls
