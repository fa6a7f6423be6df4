"""Checks of the services syncadmin depends on, for /healthz and the dashboard."""

import logging
from dataclasses import dataclass

from django.db import DatabaseError, connections
from django_q.brokers import get_broker
from django_q.conf import Conf
from django_q.status import Stat

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Check:
    ok: bool
    detail: str


def check_database(alias: str = "default") -> Check:
    connection = connections[alias]
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except DatabaseError as error:
        logger.warning("Health check: database %s unreachable: %s", alias, error)
        return Check(ok=False, detail=f"unreachable ({type(error).__name__})")
    return Check(ok=True, detail=connection.vendor)


def check_broker() -> Check:
    """The task queue answers: Redis replies to PING, or the ORM queue table is readable."""
    try:
        broker = get_broker()
        if Conf.ORM:
            broker.queue_size()
            return Check(ok=True, detail="database (django-q2 ORM broker)")
        broker.ping()
        return Check(ok=True, detail="redis")
    except Exception as error:
        logger.warning("Health check: broker unreachable: %s", error)
        return Check(ok=False, detail=f"unreachable ({type(error).__name__})")


@dataclass(frozen=True)
class ClusterInfo:
    cluster_id: str
    host: str
    status: str
    workers: int


def running_clusters() -> list[ClusterInfo]:
    """Worker clusters that reported in recently (empty when none, or when unknown)."""
    try:
        stats = Stat.get_all()
    except Exception as error:
        logger.warning("Health check: cluster status unavailable: %s", error)
        return []
    return [
        ClusterInfo(
            cluster_id=str(stat.cluster_id),
            host=stat.host,
            status=stat.status,
            workers=len(stat.workers),
        )
        for stat in stats
    ]
