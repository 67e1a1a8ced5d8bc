/** A 4xx answer of the roles API: thrown by validation and checks, sent by `RolesApi.handle`. */
export class ApiError extends Error {
  readonly status: number;
  readonly errorCode: string;

  constructor(status: number, errorCode: string, message: string) {
    super(message);
    this.status = status;
    this.errorCode = errorCode;
  }
}

/** 400 INVALID_PARAMETER_VALUE. */
export const invalid = (message: string) => new ApiError(400, 'INVALID_PARAMETER_VALUE', message);
