"""Phase libraries: included under a namespace, some phases private, their origin in diagnostics."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest

from orchestrator import Boot, BootAborted, GraphError


def postgres(closed: list[str] | None = None) -> Boot:
    library = Boot("postgres")

    @library.phase()
    def settings() -> dict[str, str]:
        return {"dsn": "postgresql://db/app"}

    @library.phase()
    async def pool(settings: dict[str, str]) -> AsyncIterator[str]:
        yield f"pool({settings['dsn']})"
        if closed is not None:
            closed.append("pool")

    library.export("pool")
    return library


def redis() -> Boot:
    library = Boot("redis")

    @library.phase()
    def settings() -> dict[str, str]:
        return {"url": "redis://cache"}

    class Client:
        url = ""

        async def start(self, settings: dict[str, str]) -> None:
            self.url = settings["url"]

    library.add(Client(), name="client")
    return library


def app() -> Boot:
    boot = Boot("app")
    boot.include(postgres(), namespace="db")
    boot.include(redis(), namespace="cache")

    @boot.phase()
    def api(db_pool: str, cache_client: object) -> tuple[str, str]:
        return db_pool, getattr(cache_client, "url", "")

    return boot


def test_two_libraries_with_a_settings_phase_fit_in_one_boot() -> None:
    assert app().plan().order == ("db_settings", "db_pool", "cache_settings", "cache_client", "api")


@pytest.mark.anyio
async def test_library_phases_name_their_siblings_by_their_own_names() -> None:
    async with app().start(sinks=[]) as running:
        assert running.resources["api"] == ("pool(postgresql://db/app)", "redis://cache")


@pytest.mark.anyio
async def test_a_component_of_a_namespaced_library_is_its_own_value() -> None:
    async with app().start(sinks=[]) as running:
        assert type(running.resources["cache_client"]).__name__ == "Client"


@pytest.mark.anyio
async def test_a_namespaced_phase_is_torn_down_like_any_other() -> None:
    closed: list[str] = []
    boot = Boot("app")
    boot.include(postgres(closed), namespace="db")
    await boot.run_once(sinks=[])
    assert closed == ["pool"]


def test_a_library_phase_may_name_a_phase_of_the_including_boot() -> None:
    library = Boot("audit")

    @library.phase()
    def trail(database: str) -> str:
        return database

    boot = Boot("app")

    @boot.phase()
    def database() -> str:
        return "db"

    boot.include(library, namespace="audit")
    assert boot.plan()["audit_trail"].requires == ("database",)


def test_depending_on_a_private_phase_is_refused_with_what_the_library_exports() -> None:
    boot = Boot("app")
    boot.include(postgres(), namespace="db")

    @boot.phase()
    def api(db_settings: dict[str, str]) -> None: ...

    with pytest.raises(GraphError) as error:
        boot.validate()
    diagnostic = error.value.diagnostic
    assert "which library 'postgres' (included as 'db') keeps private" in diagnostic.summary
    assert "library 'postgres' (included as 'db') exports: db_pool" in diagnostic.details


def test_a_library_that_exports_nothing_by_name_exports_every_phase() -> None:
    boot = Boot("app")
    boot.include(redis(), namespace="cache")

    @boot.phase()
    def api(cache_settings: dict[str, str]) -> None: ...

    boot.validate()


def test_a_private_phase_stays_private_through_a_library_that_includes_it() -> None:
    platform = Boot("platform")
    platform.include(postgres(), namespace="pg")
    boot = Boot("app")
    boot.include(platform, namespace="platform")

    @boot.phase()
    def api(platform_pg_settings: dict[str, str]) -> None: ...

    with pytest.raises(GraphError, match="'platform_pg_settings', which library 'postgres'"):
        boot.validate()


@pytest.mark.anyio
async def test_diagnostics_say_which_library_a_phase_came_from() -> None:
    broken = Boot("broken")

    @broken.phase()
    def settings() -> None:
        raise RuntimeError("no settings")

    boot = Boot("app")
    boot.include(broken, namespace="lib")
    with pytest.raises(BootAborted) as aborted:
        await boot.run_once(sinks=[])
    assert "in library 'broken' as 'lib'" in aborted.value.diagnostic.action


def test_a_name_clash_between_libraries_names_both_libraries() -> None:
    boot = Boot("app")
    boot.include(postgres())
    boot.include(redis())
    with pytest.raises(GraphError) as error:
        boot.validate()
    details = " ".join(error.value.diagnostic.details)
    assert "in library 'postgres'" in details
    assert "in library 'redis'" in details


def test_including_without_a_namespace_keeps_names_and_fingerprint() -> None:
    direct = Boot("app")

    @direct.phase()
    def settings() -> dict[str, str]:
        return {"dsn": "postgresql://db/app"}

    @direct.phase()
    async def pool(settings: dict[str, str]) -> AsyncIterator[str]:
        yield "pool"

    included = Boot("app")
    included.include(postgres())
    assert included.plan().order == ("settings", "pool")
    assert included.plan().fingerprint == direct.plan().fingerprint


def test_a_namespace_must_be_an_identifier() -> None:
    with pytest.raises(ValueError, match="namespace 'my-db' is not a Python identifier"):
        Boot("app").include(postgres(), namespace="my-db")


def test_exporting_a_phase_the_library_does_not_declare_is_refused_on_include() -> None:
    library = postgres()
    library.export("pol")
    with pytest.raises(GraphError, match="names unknown phase 'pol'"):
        Boot("app").include(library, namespace="db")


def test_a_namespaced_phase_can_be_overridden_by_its_new_name() -> None:
    boot = app().override(db_pool="fake-pool")
    assert boot.plan().left_out == ("db_settings",)


def test_a_generator_phase_keeps_its_style_under_a_namespace() -> None:
    library = Boot("files")

    @library.phase()
    def root() -> str:
        return "/tmp"

    @library.phase()
    def handle(root: str) -> Iterator[str]:
        yield root

    boot = Boot("app")
    boot.include(library, namespace="files")
    assert boot.plan()["files_handle"].style is library.plan()["handle"].style


def test_an_included_phase_is_the_declared_one_but_for_where_it_came_from() -> None:
    import dataclasses

    library = Boot("lib")

    @library.phase(timeout=5, critical=False, description="the pool")
    async def pool() -> str:
        return "pool"

    @library.phase(after=["pool"])
    async def cache(pool: str) -> str:
        return pool

    boot = Boot("app")
    boot.include(library)

    for declared, included in zip(library.phases, boot.phases, strict=True):
        assert included.source == f"{declared.source} in library 'lib'"
        assert included == dataclasses.replace(declared, source=included.source)
        assert included.waits_for == declared.waits_for
