"""The private RabbitMQ node, for the tests that restart a broker (``tests/faults/rabbitmq.py``)."""

from tests.faults.rabbitmq import private_rabbitmq

__all__ = ["private_rabbitmq"]
