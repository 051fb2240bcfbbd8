// Named errors: the state machine's Retry/Catch match on `name`, the API maps them to status codes,
// and their messages are sentences a person can act on.

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** The data map file is missing, unreadable or invalid. Permanent: retrying cannot help. */
export class DataMapError extends Error {
  override name = 'DataMapError';
}

/** A seed file for the local stack is invalid. */
export class SeedError extends Error {
  override name = 'SeedError';
}

/** The request itself is wrong (unknown user id shape, unknown source, bad format). Permanent. */
export class InvalidRequestError extends Error {
  override name = 'InvalidRequestError';
}

/** Reading a user's data from a store failed in a way worth retrying (throttling, 5xx, network). */
export class SourceReadError extends Error {
  override name = 'SourceReadError';
  constructor(
    readonly sourceId: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** A store named by the data map does not exist or refuses access: an operator must fix it. */
export class SourceUnavailableError extends Error {
  override name = 'SourceUnavailableError';
  constructor(
    readonly sourceId: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** Writing staging parts or the archive to the export bucket failed; retried by the workflow. */
export class ArchiveWriteError extends Error {
  override name = 'ArchiveWriteError';
}

/** Objects that had to be removed (staging, a failed archive's parts) are still there. */
export class CleanupError extends Error {
  override name = 'CleanupError';
}

/** The email could not be sent; retried by the workflow. */
export class DeliveryError extends Error {
  override name = 'DeliveryError';
}

/** Another export for the same user is still running. */
export class ExportInProgressError extends Error {
  override name = 'ExportInProgressError';
  constructor(readonly activeExportId: string) {
    super(`An export for this user is already running (${activeExportId}); wait for it to finish or cancel it.`);
  }
}

/** The export was cancelled or already failed while this step ran; its work is discarded. */
export class ExportEndedError extends Error {
  override name = 'ExportEndedError';
  constructor(exportId: string, status: string | undefined) {
    super(`Export ${exportId} is no longer running (${status ?? 'unknown'}); this step's work was discarded.`);
  }
}

/** Something the caller asked about does not exist (or is not theirs to know about). */
export class NotFoundError extends Error {
  override name = 'NotFoundError';
}

/** The export is in a state that does not allow this (cancel a finished export, resend an unfinished one). */
export class ConflictError extends Error {
  override name = 'ConflictError';
}

/** The archive behind an export has been deleted by retention. */
export class ExpiredError extends Error {
  override name = 'ExpiredError';
}

/** A self-service export came too soon after the last one. */
export class CooldownError extends Error {
  override name = 'CooldownError';
  constructor(readonly availableAt: Date) {
    super(
      `You already received an export of your data recently. You can request the next one after ${availableAt.toUTCString()}; until then, the link in your last email still works, or you can ask for it to be sent again.`,
    );
  }
}
