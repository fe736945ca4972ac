"""A superuser sets a user's upload quotas on /admin/users; the user's profile shows their use beside
those limits, in Korean (the app's default language)."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.browser.conftest import PageFactory
from tests.support.browser import ui_login


def test_admin_sets_quotas_and_the_user_sees_them_on_the_profile(
    new_page: PageFactory, superuser: dict[str, str], account: dict[str, str]
) -> None:
    name = account["username"]
    user_page = new_page()
    ui_login(user_page, name, account["password"])
    user_page.goto("/profile")
    quota = user_page.get_by_test_id("quota")
    expect(quota.get_by_role("heading")).to_have_text("업로드 한도")
    # The live stack sets no default: unlimited.
    expect(quota).to_contain_text("0 (제한 없음)")

    admin_page = new_page()
    ui_login(admin_page, superuser["username"], superuser["password"])
    admin_page.goto("/admin/users")
    admin_page.get_by_label("사용자 검색").fill(name)
    admin_page.get_by_role("button", name="적용").click()
    row = admin_page.get_by_role("row").filter(has_text=name)
    expect(row).to_have_count(1)
    expect(row.locator(".quota-cell")).to_contain_text("0 / 제한 없음")
    row.get_by_text("한도", exact=True).click()
    form = row.get_by_role("form", name=f"한도: {name}")
    form.get_by_label("하루 문서 수").fill("2")
    form.get_by_label("저장 용량(MB)").fill("1")
    form.get_by_role("button", name="한도 저장").click()
    expect(admin_page.get_by_role("status").filter(has_text=f"{name}의 한도를 저장했습니다.")).to_be_visible()
    expect(row.locator(".quota-cell")).to_contain_text(re.compile(r"0 / 2\s*0 B / 1 MB"))

    user_page.reload()
    quota = user_page.get_by_test_id("quota")
    expect(quota).to_contain_text("2 중 0")
    expect(quota).to_contain_text("1 MB 중 0 B")
    expect(quota.locator("progress")).to_have_count(2)
    expect(quota).to_contain_text("일일 한도는 자정(UTC)에 초기화됩니다.")

    # Emptied, the fields put the account back on the defaults (here: unlimited).
    row.get_by_text("한도", exact=True).click()
    form = row.get_by_role("form", name=f"한도: {name}")
    form.get_by_label("하루 문서 수").fill("")
    form.get_by_label("저장 용량(MB)").fill("")
    form.get_by_role("button", name="한도 저장").click()
    expect(row.locator(".quota-cell")).to_contain_text("0 / 제한 없음")
