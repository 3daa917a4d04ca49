/**
 * lightning/empApi for Jest: remembers each subscription's callback so a test can deliver a
 * streaming message with jestMockPublish, as the server would.
 */
let enabled = true;
let callbacks = new Map();
let errorCallback;

export const isEmpEnabled = jest.fn(() => Promise.resolve(enabled));

export const subscribe = jest.fn((channel, replayId, callback) => {
  callbacks.set(channel, callback);
  return Promise.resolve({ id: `${channel}-subscription`, channel, replayId });
});

export const unsubscribe = jest.fn((subscription, callback) => {
  callbacks.delete(subscription.channel);
  if (callback) {
    callback({ successful: true, subscription: subscription.channel });
  }
  return Promise.resolve(true);
});

export const onError = jest.fn((callback) => {
  errorCallback = callback;
});

export const setDebugFlag = jest.fn(() => Promise.resolve());

/** Delivers a message to the subscriber of channel; returns false when nobody subscribed. */
export function jestMockPublish(channel, message) {
  const callback = callbacks.get(channel);
  if (!callback) {
    return false;
  }
  callback(message);
  return true;
}

/** Reports a streaming error to the registered onError callback. */
export function jestMockError(error) {
  if (errorCallback) {
    errorCallback(error);
  }
}

export function jestMockSetEmpEnabled(value) {
  enabled = value;
}

export function jestMockReset() {
  enabled = true;
  callbacks = new Map();
  errorCallback = undefined;
}
