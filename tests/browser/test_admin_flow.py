"""A superuser deactivates a user in /admin/users; that user, still looking at the app in their own
browser, is refused at their next step and cannot log in again."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from tests.browser.conftest import PageFactory
from tests.support.browser import KOREAN_INVOICE, ConsoleWatch, ui_login, upload_and_wait
from tests.support.stack import Stack

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


SHEETS = KOREAN_INVOICE.parents[1] / "sheets"
ENCRYPTED_FILE_KO = "암호가 걸린 파일입니다. 업로드할 때 PDF 비밀번호를 함께 입력해 주세요"


def test_admin_documents_show_failures_first_explained_in_korean_and_retry_them(
    new_page: PageFactory, live_stack: Stack, superuser: dict[str, str], account: dict[str, str]
) -> None:
    # The failure is the older one: newest-first alone would list it second.
    upload_and_wait(live_stack.base_url, account, SHEETS / "encrypted.xlsx", "암호_걸린_견적서.xlsx", "failed")
    upload_and_wait(live_stack.base_url, account, KOREAN_INVOICE, "정상_명세서.pdf")
    page = new_page()
    ui_login(page, superuser["username"], superuser["password"])
    page.goto("/admin/documents")
    page.get_by_label("소유자 (아이디)").fill(account["username"])
    page.get_by_role("button", name="적용").click()
    expect(page).to_have_url(re.compile(rf"/admin/documents\?owner={account['username']}$"))

    rows = page.locator("main tbody tr")
    expect(rows).to_have_count(2)
    failed = rows.nth(0)
    expect(failed).to_contain_text("암호_걸린_견적서.xlsx")
    expect(failed.locator(".badge")).to_have_text("실패")
    expect(failed.locator("code")).to_have_text("ENCRYPTED_FILE")
    expect(failed).to_contain_text(ENCRYPTED_FILE_KO)
    expect(failed).to_contain_text("처리 메시지:")
    expect(failed.locator("td.num")).to_contain_text("1")
    expect(failed).to_contain_text(account["username"])
    expect(rows.nth(1)).to_contain_text("정상_명세서.pdf")
    expect(rows.nth(1).locator(".badge")).to_have_text("완료")

    failed.get_by_role("button", name="다시 처리: 암호_걸린_견적서.xlsx").click()
    expect(page.get_by_role("status").filter(has_text="다시 처리하도록 대기열에 넣었습니다")).to_be_visible()
    # Its second run fails the same way, and says so after a refresh.
    expect(failed.locator(".badge")).not_to_have_text("실패")
    for _ in range(60):
        page.get_by_role("button", name="새로 고침").click()
        page.wait_for_load_state("networkidle")
        if "2회차 처리" in failed.inner_text() and failed.locator(".badge").inner_text() == "실패":
            break
    expect(failed).to_contain_text("2회차 처리")
    expect(failed.locator(".badge")).to_have_text("실패")
    expect(failed.locator("code")).to_have_text("ENCRYPTED_FILE")


def test_admin_operations_show_live_workers_queues_throughput_and_links(
    new_page: PageFactory, live_stack: Stack, superuser: dict[str, str]
) -> None:
    upload_and_wait(live_stack.base_url, superuser, KOREAN_INVOICE, "운영_확인.pdf")
    page = new_page()
    ui_login(page, superuser["username"], superuser["password"])
    page.goto("/admin/operations")
    expect(page.get_by_role("heading", level=1)).to_have_text("운영 현황")
    cards = page.locator(".stat-cards")
    live_workers = cards.locator("div").filter(has_text="살아 있는 워커").locator("dd")
    expect(live_workers).not_to_have_text("0")
    workers = page.locator("section").filter(has=page.get_by_role("heading", name="워커"))
    expect(workers.locator("tbody tr").first).to_contain_text("응답함")
    expect(workers.locator("tbody tr").first).to_contain_text("worker-")
    queues = page.locator("section").filter(has=page.get_by_role("heading", name="대기열과 브로커"))
    expect(queues).to_contain_text(live_stack.env["CELERY_QUEUE"])
    expect(queues).to_contain_text("연결됨")
    chart = page.get_by_role("img", name=re.compile(r"최근 24시간 동안 시간대별 처리량: 완료 \d+건"))
    expect(chart).to_be_visible()
    page.get_by_text("표로 보기").click()
    expect(page.locator("details tbody tr").first).to_be_visible()
    expect(page.get_by_role("link", name="Prometheus 지표 /metrics (새 창)")).to_have_attribute("href", "/metrics")
