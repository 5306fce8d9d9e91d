from tests.conftest import Api


def test_register_post_and_read_home(api: Api) -> None:
    alice = api.register("alice")
    status = api.post(alice, "hello #world")
    home = api.get("/api/v1/timelines/home", alice)
    assert home.status_code == 200
    assert [s["id"] for s in home.json()] == [status["id"]]
