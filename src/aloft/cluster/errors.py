"""The one exception the cluster package raises for anything an operator must act on."""


class ClusterError(RuntimeError):
    """Something about the cluster or the machine stops us; the message is one line that says
    what is wrong and, where we know it, what to do about it."""
