"""Agent packages: safe extraction of uploads, packing folders, validation.

extract_archive(archive, dest, *, max_files, max_bytes) -> ExtractResult
pack_directory(src, out) -> PackResult          (honours .gitignore and .nasikoignore)
inspect_package(root, *, name=None) -> PackageInfo   (raises InvalidPackage)
parse_dockerfile(text) -> DockerfileInfo
"""

from nasiko.core.packaging.archive import ExtractResult, detect_format, extract_archive
from nasiko.core.packaging.compose import ComposeService
from nasiko.core.packaging.dockerfile import DockerfileInfo, parse_dockerfile
from nasiko.core.packaging.pack import PackResult, list_package_files, pack_directory
from nasiko.core.packaging.validate import PackageInfo, ProcessPlan, inspect_package

__all__ = [
    "ComposeService",
    "DockerfileInfo",
    "ExtractResult",
    "PackResult",
    "PackageInfo",
    "ProcessPlan",
    "detect_format",
    "extract_archive",
    "inspect_package",
    "list_package_files",
    "pack_directory",
    "parse_dockerfile",
]
