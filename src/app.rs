//! The HTML shell and the page router.

use leptos::prelude::*;
use leptos_meta::{MetaTags, Title, provide_meta_context};
use leptos_router::{
    SsrMode,
    components::{Route, Router, Routes},
    path,
};

use crate::{
    i18n::I18nContextProvider,
    ui::{
        account_pages, components::Layout, order_pages, organizer_pages, pages, security_pages,
        ticket_pages,
    },
};

/// The document around every page. Its inline scripts carry the request's
/// CSP nonce (see `http::security`).
pub fn shell(options: LeptosOptions) -> impl IntoView {
    view! {
        <!DOCTYPE html>
        <html>
            <head>
                <meta charset="utf-8" />
                <meta name="viewport" content="width=device-width, initial-scale=1" />
                <link rel="stylesheet" id="leptos" href="/pkg/admit.css" />
                <link rel="icon" type="image/svg+xml" href="/favicon.svg" />
                <HydrationScripts options islands=true />
                <MetaTags />
            </head>
            <body class="min-h-screen bg-slate-50 text-slate-900 antialiased">
                <App />
            </body>
        </html>
    }
}

/// The application: language context, layout and routes. Every page is
/// rendered on the server (async mode, so titles and data arrive complete,
/// also without JavaScript); only islands hydrate.
#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    view! {
        <I18nContextProvider>
            <Title text="admit" />
            <Router>
                <Layout>
                    <Routes fallback=pages::NotFound>
                        <Route path=path!("/") view=pages::HomePage ssr=SsrMode::Async />
                        <Route path=path!("/events") view=pages::SearchPage ssr=SsrMode::Async />
                        <Route path=path!("/events/:slug") view=pages::EventPage ssr=SsrMode::Async />
                        <Route path=path!("/signup") view=account_pages::SignUpPage ssr=SsrMode::Async />
                        <Route path=path!("/signin") view=account_pages::SignInPage ssr=SsrMode::Async />
                        <Route path=path!("/signin/code") view=security_pages::SignInCodePage ssr=SsrMode::Async />
                        <Route path=path!("/forgot") view=security_pages::ForgotPage ssr=SsrMode::Async />
                        <Route path=path!("/reset") view=security_pages::ResetPage ssr=SsrMode::Async />
                        <Route path=path!("/verify") view=account_pages::VerifyPage ssr=SsrMode::Async />
                        <Route path=path!("/account") view=account_pages::AccountPage ssr=SsrMode::Async />
                        <Route path=path!("/organizer") view=account_pages::OrganizerPage ssr=SsrMode::Async />
                        <Route path=path!("/organizer/apply") view=account_pages::ApplyPage ssr=SsrMode::Async />
                        <Route path=path!("/organizer/api-keys/:org") view=security_pages::ApiKeysPage ssr=SsrMode::Async />
                        <Route path=path!("/organizer/events/new") view=organizer_pages::NewEventPage ssr=SsrMode::Async />
                        <Route path=path!("/organizer/events/:id") view=organizer_pages::ManageEventPage ssr=SsrMode::Async />
                        <Route path=path!("/orders") view=order_pages::MyOrdersPage ssr=SsrMode::Async />
                        <Route path=path!("/tickets") view=ticket_pages::MyTicketsPage ssr=SsrMode::Async />
                        <Route path=path!("/scan") view=ticket_pages::ScanPage ssr=SsrMode::Async />
                        <Route path=path!("/organizer/events/:id/door") view=ticket_pages::DoorDashboardPage ssr=SsrMode::Async />
                        <Route path=path!("/orders/:id") view=order_pages::OrderPage ssr=SsrMode::Async />
                        <Route path=path!("/pay/sim/:session") view=order_pages::SimulatedPayPage ssr=SsrMode::Async />
                        <Route path=path!("/invitations/:token") view=account_pages::InvitationPage ssr=SsrMode::Async />
                        <Route path=path!("/admin") view=account_pages::AdminPage ssr=SsrMode::Async />
                        <Route path=path!("/admin/users") view=account_pages::AdminUsersPage ssr=SsrMode::Async />
                        <Route path=path!("/admin/users/:id") view=account_pages::AdminUserPage ssr=SsrMode::Async />
                        <Route path=path!("/admin/audit") view=security_pages::AuditPage ssr=SsrMode::Async />
                    </Routes>
                </Layout>
            </Router>
        </I18nContextProvider>
    }
}
