"""An audit recorded as an OpenLineage job, written with its events into the bundle.

The audit run reads the predictions (file digest, row digest, groups) and writes the bundle's
``result.json``, whose ``fairtrail_auditResult`` facet carries the headline verdicts. The
events — the upstream preparation's first, then the audit's — are the bundle's
``lineage/events.jsonl``. When an HTTP endpoint is configured the audit's events are also
posted to it, best effort: a down or slow endpoint never fails the audit, the events stay in
the bundle, and ``fairtrail lineage push BUNDLE`` sends them later.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from audit import (
    AuditResult,
    AuditSpec,
    Bundle,
    check_bundle_target,
    result_json,
    run_audit,
)
from lineage import (
    BestEffortHttpTransport,
    DeliverySummary,
    HttpEndpoint,
    RecordingTransport,
    TeeTransport,
    Tracker,
    audit_result_facet,
    events_to_jsonl,
    read_events,
)

__all__ = ["EVENTS_FILE", "RecordedAudit", "audit_with_lineage"]

#: Where a bundle keeps its lineage events (``Bundle.EVENTS``).
EVENTS_FILE = Bundle.EVENTS


@dataclass(frozen=True)
class RecordedAudit:
    """An audit, the bundle it was written to, its events and how HTTP delivery went."""

    result: AuditResult
    bundle: Path
    events: list[dict[str, Any]]
    delivery: DeliverySummary | None


def audit_with_lineage(
    spec: AuditSpec,
    target_for: Callable[[AuditResult], Path],
    *,
    spec_text: str | None = None,
    on_step: Callable[[str, str], None] | None = None,
    on_progress: Callable[[str, float], None] | None = None,
    upstream_events: Sequence[dict[str, Any]] = (),
    data_recorded_as: Path | None = None,
    extra_files: Mapping[str, bytes] | None = None,
) -> RecordedAudit:
    """Run the audit ``spec`` describes as a lineage job and write the bundle.

    Parameters
    ----------
    spec : AuditSpec
        Its ``[lineage]`` table names the namespace, job, upstream events and endpoint.
    target_for : callable
        The bundle folder for a result (e.g. named after its audit id).
    spec_text : str, optional
        The spec as written, kept in the bundle.
    on_step, on_progress : callable, optional
        Progress callbacks, as for :func:`audit.run_audit`.
    upstream_events : sequence of dict
        Events of the data's preparation recorded in this process (the demo); those named by
        ``lineage.upstream`` are read and come first.
    data_recorded_as : Path, optional
        Record the predictions under this path instead of the one read (the demo reads a
        temporary copy of the file it stores in the bundle: same bytes).
    extra_files : mapping of str to bytes, optional
        More files for the bundle.

    Returns
    -------
    RecordedAudit

    Raises
    ------
    FairtrailError
        The spec's data or the audit cannot be used, or the bundle folder cannot take the
        bundle (:func:`audit.check_bundle_target`: a symbolic link, a file, a folder
        that is not a bundle; checked before the events record the output). Nothing the user
        had at the target is deleted.
    """
    settings = spec.lineage
    upstream = [e for p in spec.upstream_paths() for e in read_events(p)]
    upstream += list(upstream_events)
    recorder = RecordingTransport()
    endpoint = HttpEndpoint.from_env(settings.url, settings.api_key_env, timeout=settings.timeout)
    http = BestEffortHttpTransport(endpoint) if endpoint is not None else None
    tracker = Tracker(
        settings.namespace,
        TeeTransport(recorder, http) if http is not None else recorder,
        sensitive_features=spec.data.sensitive_features,
        tolerance=settings.tolerance,
        row_digests=settings.row_digests,
    )
    data_path = data_recorded_as or spec.data_path()
    description = (
        f"fairtrail audit of the predictions in {spec.data.path or 'a DataFrame'} against "
        f"policy '{spec.policy.name}' version {spec.policy.version}."
    )
    try:
        with tracker.run(spec.job_name(), description=description) as run:

            def record_data(frame: Any) -> None:
                if data_path is None:
                    return
                read = spec.data_path()
                copy = read.read_bytes() if data_recorded_as and read else None
                run.input(frame, path=data_path, data=copy, description="Predictions audited.")

            def record_files(inputs: Any, counted: Any) -> None:
                run.input_files(inputs, counted, description="Predictions audited.")

            result = run_audit(
                spec,
                on_step=on_step,
                on_data=record_data,
                on_files=record_files,
                on_progress=on_progress,
            )
            # Refused here, before the events announce an output that could not be written.
            target = check_bundle_target(Path(target_for(result)))
            body = result_json(result)
            run.output(
                None,
                path=target / Bundle.RESULT,
                data=body,
                description=f"Result of audit {result.audit_id}: {result.status}.",
                facets={"fairtrail_auditResult": audit_result_facet(result, result_bytes=body)},
            )
    finally:
        if http is not None:
            http.close()
    events = upstream + recorder.events
    bundle = Bundle.write(
        result,
        target,
        spec=spec.to_dict(),
        spec_text=spec_text,
        extra_files={Bundle.EVENTS: events_to_jsonl(events), **(extra_files or {})},
    )
    return RecordedAudit(result, bundle.path, events, http.summary() if http else None)
