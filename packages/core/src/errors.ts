/** Bad input from a user (file, field or value named in the message): the CLI exits with exitCode. */
export class UsageError extends Error {
  constructor(
    message: string,
    readonly exitCode = 2,
  ) {
    super(message);
    this.name = "UsageError";
  }
}
