from __future__ import annotations

from django.contrib.auth import views as auth_views
from django.utils.translation import gettext as _

from duban.accounts.services import login_failure_record, login_is_throttled, login_success_record


def client_address(request) -> str | None:
    # REMOTE_ADDR only: X-Forwarded-For is set by clients too, so trusting it would let an
    # attacker pick a fresh address per try. Behind a proxy, configure it to set REMOTE_ADDR.
    return request.META.get("REMOTE_ADDR") or None


class ThrottledLoginView(auth_views.LoginView):
    template_name = "accounts/login.html"
    redirect_authenticated_user = True

    def post(self, request, *args, **kwargs):
        username = request.POST.get("username", "")[:150]
        address = client_address(request)
        if login_is_throttled(username=username, address=address):
            form = self.get_form()
            form.errors.clear()
            form.add_error(None, _("Too many failed logins. Wait a few minutes and try again."))
            response = self.render_to_response(self.get_context_data(form=form))
            response.status_code = 429
            return response
        return super().post(request, *args, **kwargs)

    def form_invalid(self, form):
        login_failure_record(
            username=self.request.POST.get("username", "")[:150],
            address=client_address(self.request),
        )
        return super().form_invalid(form)

    def form_valid(self, form):
        login_success_record(username=form.get_user().get_username())
        return super().form_valid(form)
