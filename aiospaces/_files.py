"""Files: commits, uploads and downloads (preupload, NDJSON commit, LFS batch, resolve)."""

from __future__ import annotations

from ._core import CoreClient


class FilesMixin(CoreClient):
    """`create_commit`, `upload_file`, `upload_folder`, `hf_hub_download`, `list_repo_files`."""
