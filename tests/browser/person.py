"""A person using the console in headless Chromium: finds fields by their label, links and buttons by
their text, and reads what the page says. Nothing is downloaded at run time: Debian's ``chromium`` and
``chromium-driver`` (``.ci/run`` installs them) drive it through Selenium.
"""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from selenium import webdriver
from selenium.common.exceptions import (
    NoSuchElementException,
    StaleElementReferenceException,
    TimeoutException,
    WebDriverException,
)
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.select import Select
from selenium.webdriver.support.ui import WebDriverWait

CHROMEDRIVER = "/usr/bin/chromedriver"
CHROMIUM_FLAGS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--lang=en-US",
)
LAPTOP, PHONE = 1280, 390
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


@contextmanager
def chromium() -> Iterator[webdriver.Chrome]:
    """A fresh headless Chromium (its own profile directory) at a laptop's width."""
    with tempfile.TemporaryDirectory(prefix="rs-chromium-") as profile:
        options = webdriver.ChromeOptions()
        for flag in CHROMIUM_FLAGS:
            options.add_argument(flag)
        options.add_argument(f"--user-data-dir={profile}")
        driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
        try:
            driver.set_window_size(LAPTOP, 900)
            yield driver
        finally:
            driver.quit()


def _settling(exc: WebDriverException) -> bool:
    return isinstance(exc, StaleElementReferenceException) or "does not belong to the document" in str(exc)


def _gone(element: WebElement) -> Callable[[WebDriver], bool]:
    """Selenium's ``staleness_of``, also when Chromium answers for the old page's node with "does not
    belong to the document" (a plain WebDriverException) rather than a stale-element error."""

    def predicate(_: WebDriver) -> bool:
        try:
            element.is_enabled()
        except WebDriverException as exc:
            if _settling(exc):
                return True
            raise
        return False

    return predicate


def _literal(text: str) -> str:
    """``text`` as an XPath string literal (it may hold either kind of quote)."""
    if "'" not in text:
        return f"'{text}'"
    return "concat(" + ', "\'", '.join(f"'{part}'" for part in text.split("'")) + ")"


class Person:
    def __init__(self, driver: webdriver.Chrome, base_url: str) -> None:
        self.driver = driver
        self.base_url = base_url

    # looking ---------------------------------------------------------------------------------------
    def visit(self, path: str) -> None:
        self.driver.get(self.base_url + path)

    @property
    def path(self) -> str:
        return str(self.driver.current_url).removeprefix(self.base_url)

    def heading(self) -> str:
        return str(self.driver.find_element(By.TAG_NAME, "h1").text)

    def sees(self, text: str) -> bool:
        return text in self.driver.find_element(By.TAG_NAME, "body").text

    def wait_until_sees(self, text: str, timeout: float = 60) -> None:
        try:
            WebDriverWait(self.driver, timeout, ignored_exceptions=(StaleElementReferenceException,)).until(
                lambda _: self.sees(text)
            )
        except TimeoutException:
            raise AssertionError(f"{self.path} never said {text!r}; it says:\n{self._body()}") from None

    def field(self, label: str, within: str | None = None) -> WebElement:
        """The control labelled ``label`` (inside the fieldset whose legend is ``within``)."""
        scope = f"//fieldset[legend[normalize-space()={_literal(within)}]]" if within else ""
        found = self.driver.find_element(By.XPATH, f"{scope}//label[normalize-space()={_literal(label)}]")
        target = found.get_attribute("for")
        if target:
            return self.driver.find_element(By.ID, target)
        return found.find_element(By.XPATH, ".//input | .//select | .//textarea")

    def problems_beside(self, label: str) -> list[str]:
        """The problems shown beside the field labelled ``label``."""
        box = self.field(label).find_element(By.XPATH, "./ancestor::div[contains(@class, 'field')][1]")
        return [p.text for p in box.find_elements(By.CSS_SELECTOR, ".problem")]

    def link(self, text: str) -> WebElement:
        return self.driver.find_element(By.XPATH, f"//a[normalize-space()={_literal(text)}]")

    def buttons(self) -> list[str]:
        return [str(b.text) for b in self.driver.find_elements(By.TAG_NAME, "button") if b.is_displayed()]

    def table(self, caption_column: str) -> list[dict[str, str]]:
        """The rows of the table that has a column headed ``caption_column``, by column heading."""
        table = self.driver.find_element(
            By.XPATH, f"//table[thead/tr/th[normalize-space()={_literal(caption_column)}]]"
        )
        headings = [th.text for th in table.find_elements(By.CSS_SELECTOR, "thead th")]
        return [
            dict(zip(headings, (td.text for td in row.find_elements(By.TAG_NAME, "td")), strict=False))
            for row in table.find_elements(By.CSS_SELECTOR, "tbody tr")
        ]

    # doing -----------------------------------------------------------------------------------------
    def type_into(self, label: str, text: str, within: str | None = None) -> None:
        element = self.field(label, within)
        element.clear()
        element.send_keys(text)

    def choose(self, label: str, option: str, within: str | None = None) -> None:
        Select(self.field(label, within)).select_by_visible_text(option)

    def pick(self, label: str) -> None:
        """Tick a radio button or checkbox by its label."""
        self.field(label).click()

    def set_time(self, label: str, hhmm: str) -> None:
        """Type a 24-hour time into a time field the way Chromium (en-US) takes it: hh, mm, AM/PM."""
        hours, minutes = (int(part) for part in hhmm.split(":"))
        element = self.field(label)
        element.click()
        element.send_keys(f"{(hours % 12) or 12:02d}{minutes:02d}{'AM' if hours < 12 else 'PM'}")

    def click(self, text: str) -> None:
        """Press the button, or follow the link, whose text is ``text``, and wait for the page it opens."""
        attempts = 6
        for attempt in range(attempts):
            try:
                element = self.driver.find_element(
                    By.XPATH, f"//button[normalize-space()={_literal(text)}][not(@aria-hidden='true')]"
                )
            except NoSuchElementException:
                element = self.link(text)
            page = self.driver.find_element(By.TAG_NAME, "html")
            try:
                element.click()
                break
            except (StaleElementReferenceException, WebDriverException) as exc:
                # the page was still settling (Chromium: "Node ... does not belong to the document"):
                # find the button again, as a person would look again
                if attempt == attempts - 1 or not _settling(exc):
                    raise
                time.sleep(0.25 * (attempt + 1))  # give the swap in progress time to finish
        WebDriverWait(self.driver, 30).until(_gone(page), f"{text!r} opened no page")
        WebDriverWait(self.driver, 30).until(
            lambda driver: driver.execute_script("return document.readyState") == "complete"
        )

    def sign_in(self, email: str, password: str) -> None:
        self.visit("/login")
        self.type_into("Email", email)
        self.type_into("Password", password)
        self.click("Sign in")

    def post(self, path: str, form: dict[str, str]) -> dict[str, Any]:
        """A POST sent by script from this page (with its cookies), as a forged form would be:
        ``{"status", "text"}`` of the answer."""
        answer: dict[str, Any] = self.driver.execute_async_script(
            """
            const [path, form, done] = arguments;
            fetch(path, {method: "POST", body: new URLSearchParams(form), credentials: "same-origin",
                         redirect: "manual"})
              .then(async r => done({status: r.status, text: await r.text()}))
              .catch(e => done({status: 0, text: String(e)}));
            """,
            path,
            form,
        )
        return answer

    def download(self, href: str) -> dict[str, Any]:
        """What a link answers, fetched with this page's cookies: ``{"status", "type", "text"}``."""
        answer: dict[str, Any] = self.driver.execute_async_script(
            """
            const [href, done] = arguments;
            fetch(href, {credentials: "same-origin"})
              .then(async r => done({status: r.status, type: r.headers.get("content-type"),
                                     text: await r.text()}))
              .catch(e => done({status: 0, type: "", text: String(e)}));
            """,
            href,
        )
        return answer

    def csrf_token(self) -> str:
        """The session's token, as the page hands it to htmx (a forger reading the page would have it)."""
        headers = self.driver.find_element(By.TAG_NAME, "body").get_attribute("hx-headers") or "{}"
        return str(self.driver.execute_script("return JSON.parse(arguments[0])['X-CSRF-Token']", headers))

    # seeing it on a phone ----------------------------------------------------------------------------
    def snapshot(self, name: str) -> None:
        """Check that the page fits a phone's width (no horizontal scrolling), and with
        ``RECRUIT_SYNC_SCREENSHOTS=1`` save it whole at phone and laptop widths in docs/screenshots."""
        save = os.environ.get("RECRUIT_SYNC_SCREENSHOTS") == "1"
        try:
            for width in (PHONE, LAPTOP):
                self.driver.set_window_size(width, 900)
                overflow = self.driver.execute_script(
                    "return document.documentElement.scrollWidth - document.documentElement.clientWidth"
                )
                assert overflow <= 0, f"{name} scrolls sideways by {overflow}px at {width}px"
                if save:
                    height = self.driver.execute_script("return document.documentElement.scrollHeight")
                    self.driver.set_window_size(width, min(int(height) + 140, 6000))
                    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
                    self.driver.save_screenshot(str(SCREENSHOTS / f"{name}-{width}.png"))
        finally:
            self.driver.set_window_size(LAPTOP, 900)

    def _body(self) -> str:
        return str(self.driver.find_element(By.TAG_NAME, "body").text)[-3000:]
