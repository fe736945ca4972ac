"""Korean first; switching to English changes the texts and <html lang>, and survives a reload."""

from __future__ import annotations

from playwright.sync_api import Page, expect


def test_switching_to_english_changes_the_texts_and_lang_and_persists(page: Page, account: dict[str, str]) -> None:
    page.goto("/login")
    expect(page.locator("html")).to_have_attribute("lang", "ko")
    expect(page.get_by_role("heading", level=1)).to_have_text("로그인")
    expect(page).to_have_title("로그인 · 문서 처리 서비스")

    page.get_by_label("언어").select_option("en")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.get_by_role("heading", level=1)).to_have_text("Log in")
    expect(page.get_by_label("Username or email")).to_be_visible()
    expect(page.get_by_role("button", name="Log in")).to_be_visible()
    expect(page.locator("main")).not_to_contain_text("비밀번호")

    page.reload()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.get_by_role("heading", level=1)).to_have_text("Log in")

    # Logged in, the app's pages follow the choice too.
    page.get_by_label("Username or email").fill(account["username"])
    page.get_by_label("Password").fill(account["password"])
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Documents")
    expect(page.get_by_role("navigation", name="Main menu").get_by_role("link", name="Statistics")).to_be_visible()

    page.get_by_label("Language").select_option("ko")
    expect(page.locator("html")).to_have_attribute("lang", "ko")
    expect(page.get_by_role("heading", level=1)).to_have_text("문서 목록")
    page.reload()
    expect(page.get_by_role("heading", level=1)).to_have_text("문서 목록")
