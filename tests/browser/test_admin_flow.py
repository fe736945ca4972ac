"""A superuser deactivates a user in /admin/users; that user, still looking at the app in their own
browser, is refused at their next step and cannot log in again."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from tests.browser.conftest import PageFactory
from tests.support.browser import ConsoleWatch, ui_login

INACTIVE_USER_KO = "사용이 중지된 계정입니다. 관리자에게 문의해 주세요."


def test_deactivated_user_is_refused_in_their_open_session_and_at_login(
    new_page: PageFactory, console: ConsoleWatch, superuser: dict[str, str], account: dict[str, str]
) -> None:
    name = account["username"]
    user_page = new_page()
    ui_login(user_page, name, account["password"])
    expect(user_page.get_by_role("heading", level=1)).to_have_text("문서 목록")

    admin_page = new_page()
    ui_login(admin_page, superuser["username"], superuser["password"])
    admin_page.get_by_role("link", name="관리", exact=True).click()
    admin_page.get_by_role("link", name="사용자 관리").first.click()
    expect(admin_page).to_have_url(re.compile(r"/admin/users$"))
    admin_page.get_by_label("사용자 검색").fill(name)
    admin_page.get_by_role("button", name="적용").click()
    row = admin_page.get_by_role("row").filter(has_text=name)
    expect(row).to_have_count(1)
    expect(row).to_contain_text("활성")
    expect(row).to_contain_text("일반 사용자")

    # The superuser's own row cannot be changed (the API refuses it as well).
    admin_page.get_by_label("사용자 검색").fill(superuser["username"])
    admin_page.get_by_role("button", name="적용").click()
    own = admin_page.get_by_role("row").filter(has_text=superuser["username"])
    expect(own).to_contain_text("본인 계정")
    expect(own.get_by_role("button", name=f"비활성화: {superuser['username']}")).to_be_disabled()
    admin_page.get_by_label("사용자 검색").fill(name)
    admin_page.get_by_role("button", name="적용").click()

    # Deactivation asks first; cancelling changes nothing.
    row.get_by_role("button", name=f"비활성화: {name}").click()
    dialog = admin_page.get_by_role("dialog")
    expect(dialog).to_contain_text(f"{name} 계정을 비활성화할까요?")
    dialog.get_by_role("button", name="취소").click()
    expect(dialog).to_have_count(0)
    expect(row.locator(".badge")).to_have_text("활성")

    # From here the user's browser is refused (that is the point): it logs each refused request.
    console.allow_http_error(r"/api/", 401, 403)
    row.get_by_role("button", name=f"비활성화: {name}").click()
    admin_page.get_by_role("dialog").get_by_role("button", name="비활성화").click()
    expect(row.locator(".badge")).to_have_text("비활성")
    expect(row.get_by_role("button", name=f"활성화: {name}")).to_be_enabled()
    expect(admin_page.get_by_role("status").filter(has_text=f"{name} 계정을 비활성화했습니다.")).to_be_visible()

    # Their next step in the browser they had open is refused: they land on the login form. (The
    # ended session may already have sent them there, when the server closed their live connection:
    # the click happens only if the link is still on screen, without racing that.)
    user_page.evaluate(
        "() => [...document.querySelectorAll('nav a')].find(a => a.textContent.trim() === '통계')?.click()"
    )
    expect(user_page).to_have_url(re.compile(r"/login(\?|$)"))
    expect(user_page.get_by_role("heading", level=1)).to_have_text("로그인")
    expect(user_page.get_by_role("link", name="통계")).to_have_count(0)

    # Logging in again is refused, in Korean words.
    user_page.get_by_label("아이디 또는 이메일").fill(name)
    user_page.get_by_label("비밀번호").fill(account["password"])
    user_page.get_by_role("button", name="로그인").click()
    expect(user_page.get_by_role("alert")).to_have_text(INACTIVE_USER_KO)
    expect(user_page).to_have_url(re.compile(r"/login(\?|$)"))

    # Reactivated, they can log in again with the same password.
    row.get_by_role("button", name=f"활성화: {name}").click()
    expect(row.locator(".badge")).to_have_text("활성")
    user_page.get_by_role("button", name="로그인").click()
    expect(user_page.get_by_role("heading", level=1)).not_to_have_text("로그인")
    expect(user_page.get_by_role("button", name="로그아웃")).to_be_visible()


def test_a_user_who_is_not_superuser_sees_that_admin_needs_it(page: Page, account: dict[str, str]) -> None:
    ui_login(page, account["username"], account["password"])
    expect(page.get_by_role("link", name="관리", exact=True)).to_have_count(0)
    for path in ("/admin", "/admin/users", "/admin/documents", "/admin/operations"):
        page.goto(path)
        alert = page.get_by_role("alert")
        expect(alert).to_contain_text("관리자 권한이 필요합니다")
        expect(alert).to_contain_text("관리자만 사용할 수 있는 기능입니다.")
        expect(page.locator("main table")).to_have_count(0)
