import { expect } from 'vitest';

/** The error `run` throws, checked to be a `type`; fails the test when it throws nothing. */
export function thrownBy<E extends Error>(type: abstract new (...args: never[]) => E, run: () => unknown): E {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(type);
    return error as E;
  }
  throw new Error(`expected a ${type.name}, but nothing was thrown`);
}

/** The error `promise` rejects with, checked to be a `type`; fails the test when it resolves. */
export async function rejectionOf<E extends Error>(type: abstract new (...args: never[]) => E, promise: Promise<unknown>): Promise<E> {
  const error = await promise.then(
    () => new Error(`expected a ${type.name}, but the promise resolved`),
    (reason: unknown) => reason,
  );
  expect(error).toBeInstanceOf(type);
  return error as E;
}
