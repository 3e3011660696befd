"""Exponential back-off with jitter, for retries against the controller."""
import random


class Backoff(object):

    def __init__(self, initial, maximum):
        self.initial = initial
        self.maximum = maximum
        self.failures = 0

    def next(self):
        delay = min(self.maximum, self.initial * (2 ** self.failures))
        self.failures += 1
        # jitter keeps many servers from retrying in lock step
        return delay * random.uniform(0.75, 1.0)

    def reset(self):
        self.failures = 0
