// How a PostgreSQL read fails when the source cannot be read as the data map describes it: a message
// for the map's author, naming the source. Such a failure is permanent; the workflow does not retry it.

export class PostgresReadError extends Error {
  override name = 'PostgresReadError';
}
