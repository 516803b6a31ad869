"""`deploy-config nginx` prints the routing block deploy/nginx.conf carries; `serve --process-num` keeps to
PROCESSES."""

from __future__ import annotations

import json

from app.deploy import BEGIN, END
from tests.helpers_server import ROOT


def _block(text: str) -> str:
    return text[text.index(BEGIN) : text.index(END) + len(END)]


def test_the_shipped_nginx_conf_carries_the_block_for_two_processes(cli):
    printed = cli("deploy-config", "nginx", env={"PROCESSES": "2", "PORT": "8000", "NODE_NAME": "a"})
    assert printed.returncode == 0, printed.stderr
    assert _block(printed.stdout) == _block((ROOT / "deploy" / "nginx.conf").read_text())
    # Each session's owner has an upstream of its own; requests without a session go to the pool.
    for owner, port in (("a8000", 8000), ("a8001", 8001), ("a8100", 8100)):
        assert f'"~^{owner}\\." secondlayer_{owner};' in printed.stdout
        assert f"upstream secondlayer_{owner} {{\n    server 127.0.0.1:{port} max_fails=0;\n" in printed.stdout
    assert "server 127.0.0.1:8100 max_fails=0 backup;" in printed.stdout  # the standby only as a spare


def test_several_hosts_each_with_its_node_name(cli):
    printed = cli(
        "deploy-config", "nginx", "--host", "a=10.0.0.1", "--host", "B=10.0.0.2", "--json", env={"PROCESSES": "3"}
    )
    assert printed.returncode == 0, printed.stderr
    names = [(p["name"], p["address"]) for p in json.loads(printed.stdout)["processes"]]
    assert names == [
        ("a8000", "10.0.0.1:8000"),
        ("a8001", "10.0.0.1:8001"),
        ("a8002", "10.0.0.1:8002"),
        ("b8000", "10.0.0.2:8000"),
        ("b8001", "10.0.0.2:8001"),
        ("b8002", "10.0.0.2:8002"),
    ]
    for bad, reason in (("10.0.0.1", "NAME=ADDRESS"), ("a b=10.0.0.1", "NAME=ADDRESS")):
        refused = cli("deploy-config", "nginx", "--host", bad)
        assert refused.returncode != 0 and reason in refused.stderr and "Traceback" not in refused.stderr
    twice = cli("deploy-config", "nginx", "--host", "a=10.0.0.1", "--host", "a=10.0.0.2")
    assert twice.returncode != 0 and "names a twice" in twice.stderr


def test_a_process_numbered_outside_processes_refuses_to_start(cli):
    refused = cli("serve", "--process-num", "2", env={"PROCESSES": "2"})
    assert refused.returncode != 0
    assert "--process-num 2 is outside PROCESSES=2" in refused.stderr and "Traceback" not in refused.stderr
    bad = cli("serve", env={"NODE_NAME": "no dots."})
    assert bad.returncode != 0 and "NODE_NAME must be 1 to 16 letters or digits" in bad.stderr
