"""Calls to the Hugging Face Hub with retries on transient errors and one-line user errors."""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable
from typing import TypeVar

from huggingface_hub.errors import HfHubHTTPError, OfflineModeIsEnabled

from builders.errors import InputError

T = TypeVar("T")

RETRY_STATUS = (408, 429, 500, 502, 503, 504)
RETRIES = 4
# Seconds before the first retry (doubled each time); tests set it to 0.
BACKOFF_ENV = "MULTITASK_PUSH_BACKOFF_S"


def _transport_errors() -> tuple[type[BaseException], ...]:
    """Network-level errors of whichever HTTP client this huggingface_hub uses."""
    found: list[type[BaseException]] = [ConnectionError, TimeoutError]
    for module in ("httpx2", "httpx"):  # huggingface_hub 2.x uses httpx2, 1.x httpx
        with contextlib.suppress(ImportError, AttributeError):
            found.append(__import__(module).TransportError)
    try:
        import requests  # huggingface_hub 0.x

        found += [requests.ConnectionError, requests.Timeout]
    except ImportError:
        pass
    return tuple(found)


TRANSPORT_ERRORS = _transport_errors()


class HubError(InputError):
    """A Hub call that failed: one line, exit 2."""


def status_of(error: BaseException) -> int | None:
    response = getattr(error, "response", None)
    return getattr(response, "status_code", None)


def is_transient(error: BaseException) -> bool:
    if isinstance(error, OfflineModeIsEnabled):
        return False
    if isinstance(error, HfHubHTTPError):
        return status_of(error) in RETRY_STATUS
    return isinstance(error, TRANSPORT_ERRORS)


def is_hub_error(error: BaseException) -> bool:
    """Errors that come from the Hub or the network (as opposed to bugs)."""
    invalid_card = isinstance(error, ValueError) and "Invalid metadata in README.md" in str(error)
    return invalid_card or isinstance(error, (HfHubHTTPError, *TRANSPORT_ERRORS))


def _server_message(error: BaseException) -> str:
    message = getattr(error, "server_message", None) or ""
    if not message:
        response = getattr(error, "response", None)
        try:
            message = response.json().get("error", "") if response is not None else ""
        except Exception:
            message = ""
    return " ".join(str(message).split())[:200]


def describe(error: BaseException, what: str, repo_id: str, token_env: str) -> str:
    """One line saying what failed and what to do."""
    if isinstance(error, OfflineModeIsEnabled):
        return f"{what}: HF_HUB_OFFLINE is set; unset it to publish"
    if isinstance(error, ValueError) and "Invalid metadata in README.md" in str(error):
        detail = " ".join(str(error).split("\n", 1)[-1].split())
        return f"{what}: the Hub rejected the data card's YAML ({detail}); nothing was committed"
    status = status_of(error)
    server = _server_message(error)
    suffix = f": {server}" if server else ""
    if status == 401:
        return f"{what}: the Hub refused the token in ${token_env} (401 unauthorized){suffix}"
    if status == 403:
        return (
            f"{what}: the token in ${token_env} may not write to {repo_id} "
            f"(403 forbidden){suffix}; use a token with write access to that namespace"
        )
    if status == 404:
        return f"{what}: {repo_id} not found on the Hub (404){suffix}"
    if status == 429:
        return f"{what}: rate limited by the Hub (429) after {RETRIES} retries{suffix}; try later"
    if status is not None and status >= 500:
        return f"{what}: the Hub failed ({status}) after {RETRIES} retries{suffix}; try later"
    if status is not None:
        return f"{what}: the Hub refused it ({status}){suffix}"
    if isinstance(error, TRANSPORT_ERRORS):
        return f"{what}: cannot reach the Hub ({type(error).__name__}); check the network"
    return f"{what}: {type(error).__name__}: {' '.join(str(error).split())[:200]}"


def scrub(text: str, secret: str | None) -> str:
    return text.replace(secret, "***") if secret else text


class Hub:
    """Runs Hub calls: retries transient failures with backoff, turns the rest into HubError."""

    def __init__(self, repo_id: str, token_env: str, token: str | None) -> None:
        self.repo_id = repo_id
        self.token_env = token_env
        self._token = token
        self.backoff = float(os.environ.get(BACKOFF_ENV, "1"))

    def error(self, error: BaseException, what: str) -> HubError:
        return HubError(scrub(describe(error, what, self.repo_id, self.token_env), self._token))

    def call(self, what: str, function: Callable[[], T], retry: bool = True) -> T:
        for attempt in range(RETRIES + 1):
            try:
                return function()
            except InputError:
                raise
            except Exception as error:
                if not is_hub_error(error):
                    raise  # a bug, not the Hub: exit 1 with the traceback
                if not (retry and is_transient(error)) or attempt == RETRIES:
                    raise self.error(error, what) from None
                time.sleep(self._wait(error, attempt))
        raise AssertionError("unreachable")

    def _wait(self, error: BaseException, attempt: int) -> float:
        response = getattr(error, "response", None)
        retry_after = response.headers.get("Retry-After") if response is not None else None
        if retry_after and retry_after.isdigit():
            return min(float(retry_after), 60.0)
        return self.backoff * 2**attempt
