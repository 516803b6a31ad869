"""Downloading publishers' files (app/corpus/download.py) from a real static server on loopback: whole files, an
unchanged publication answered 304, a partial file resumed with a byte range, missing files, and source trees
over a URL or a local mirror."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest

from app.corpus.download import DownloadError, SourceTree, download, fetch_bytes, local_file
from tests.helpers_corpus import PublisherSite

BODY = bytes(range(256)) * 4096  # 1 MiB, every byte value


def test_a_file_downloads_whole_with_its_validators(publisher: PublisherSite, tmp_path: Path) -> None:
    (publisher.root / "edrsr_data_2020.zip").write_bytes(BODY)
    dest = tmp_path / "out" / "edrsr_data_2020.zip"
    got = asyncio.run(download(publisher.url("edrsr_data_2020.zip"), dest))
    assert got.path == dest and got.size == len(BODY) and dest.read_bytes() == BODY
    assert got.etag and got.last_modified and not got.not_modified
    assert not dest.with_name(dest.name + ".part").exists()


def test_an_unchanged_publication_is_a_304_and_the_file_stays(publisher: PublisherSite, tmp_path: Path) -> None:
    (publisher.root / "doc.txt").write_bytes(BODY)
    dest = tmp_path / "doc.txt"
    first = asyncio.run(download(publisher.url("doc.txt"), dest))
    again = asyncio.run(download(publisher.url("doc.txt"), dest, etag=first.etag, last_modified=first.last_modified))
    assert again.not_modified and dest.read_bytes() == BODY
    assert publisher.requests[-1][1].get("If-None-Match") == first.etag
    # A newer publication is fetched again.
    (publisher.root / "doc.txt").write_bytes(BODY[::-1])
    os.utime(publisher.root / "doc.txt", (2_000_000_000, 2_000_000_000))
    newer = asyncio.run(download(publisher.url("doc.txt"), dest, etag=first.etag, last_modified=first.last_modified))
    assert not newer.not_modified and dest.read_bytes() == BODY[::-1] and newer.etag != first.etag


def test_an_interrupted_download_resumes_with_a_range(publisher: PublisherSite, tmp_path: Path) -> None:
    (publisher.root / "uo.zip").write_bytes(BODY)
    dest = tmp_path / "uo.zip"
    dest.with_name("uo.zip.part").write_bytes(BODY[:300_000])  # what an interrupted run left
    got = asyncio.run(download(publisher.url("uo.zip"), dest))
    assert dest.read_bytes() == BODY and got.size == len(BODY)
    assert publisher.requests[-1][1].get("Range") == "bytes=300000-"


def test_a_missing_file_is_a_clear_error_and_fetch_bytes_says_none(publisher: PublisherSite, tmp_path: Path) -> None:
    with pytest.raises(DownloadError, match=r"cannot download http://127\.0\.0\.1:\d+/nope\.zip: HTTP 404"):
        asyncio.run(download(publisher.url("nope.zip"), tmp_path / "nope.zip"))
    assert not (tmp_path / "nope.zip").exists()
    assert asyncio.run(fetch_bytes(publisher.url("nope.json"))) is None
    with pytest.raises(DownloadError, match="not an http"):
        asyncio.run(fetch_bytes("ftp://example.org/x"))


def test_nothing_listens_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(DownloadError, match=r"cannot download http://127\.0\.0\.1:9/x\.zip"):
        asyncio.run(download("http://127.0.0.1:9/x.zip", tmp_path / "x.zip"))


def test_a_source_tree_reads_the_same_from_a_url_and_a_mirror(publisher: PublisherSite, tmp_path: Path) -> None:
    (publisher.root / "ogd" / "zak").mkdir(parents=True)
    (publisher.root / "ogd" / "zak" / "stan.txt").write_bytes("5\tЧинний\n".encode("cp1251"))
    for spec in (publisher.url(), str(publisher.root)):
        tree = SourceTree.open(spec, tmp_path / "cache")
        assert asyncio.run(tree.read("ogd/zak/stan.txt")) == "5\tЧинний\n".encode("cp1251")
        assert asyncio.run(tree.read("ogd/zak/missing.txt")) is None
        local = asyncio.run(tree.local("ogd/zak/stan.txt"))
        assert local is not None and local.read_bytes().startswith(b"5\t")
        assert asyncio.run(tree.local("ogd/zak/missing.txt")) is None
        assert tree.describe("ogd/zak/stan.txt").endswith("ogd/zak/stan.txt")
        for bad in ("../etc/passwd", "/etc/passwd", "ogd/../../x", "ogd//x"):
            with pytest.raises(DownloadError, match="not a relative path"):
                asyncio.run(tree.read(bad))
    with pytest.raises(DownloadError, match="no such directory"):
        SourceTree.open(str(tmp_path / "absent"), tmp_path / "cache")


def test_local_file_takes_a_path_or_downloads_a_url(publisher: PublisherSite, tmp_path: Path) -> None:
    (publisher.root / "mps-data.json").write_bytes(b"{}")
    via_url = asyncio.run(local_file(publisher.url("mps-data.json"), tmp_path / "cache", progress=None))
    assert via_url.path.read_bytes() == b"{}" and via_url.path.is_relative_to(tmp_path / "cache")
    via_path = asyncio.run(local_file(str(publisher.root / "mps-data.json"), tmp_path / "cache"))
    assert via_path.path == publisher.root / "mps-data.json" and via_path.etag is None
    with pytest.raises(DownloadError, match="no such file or directory"):
        asyncio.run(local_file(str(tmp_path / "absent.json"), tmp_path / "cache"))
