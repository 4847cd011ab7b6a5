"""The Microsoft 365 / Outlook provider through Microsoft Graph: MSAL sign-in, calendar
reading (calendarView delta), writing calls and prep blocks, change subscriptions."""
